package arc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"dmarcgate/auth"
)

// MaxInstances is the most ARC sets a message may carry (RFC 8617 §4.2.1);
// more is a failed chain.
const MaxInstances = 50

// ARC header field names (RFC 8617 §4.1).
const (
	SealField      = "ARC-Seal"
	SignatureField = "ARC-Message-Signature"
	ResultsField   = "ARC-Authentication-Results"
)

// Set is one ARC set: the three fields of one instance (RFC 8617 §4.1).
type Set struct {
	Instance int
	Seal     auth.Field
	AMS      auth.Field
	AAR      auth.Field
	SealTags Tags
	AMSTags  Tags
	// AuthservID and Results are the AAR's parts after "i=N;"
	// (RFC 8617 §4.1.1): who assessed the message and what it found.
	AuthservID string
	Results    string
}

// errStructure marks a chain whose sets are malformed (RFC 8617 §5.2 step 3).
var errStructure = errors.New("arc: malformed chain")

func structural(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errStructure, fmt.Sprintf(format, args...))
}

// collectSets gathers the ARC sets of a header block in instance order
// 1..N and checks their structure (RFC 8617 §5.2 steps 1 and 3): exactly
// one field of each kind per instance, instances 1..N without gaps, at most
// MaxInstances. No sets gives nil and no error.
func collectSets(fields []auth.Field) ([]*Set, error) {
	byInstance := map[int]*Set{}
	count := 0
	for _, f := range fields {
		kind := arcKind(f.Name)
		if kind == "" {
			continue
		}
		if count++; count > 3*MaxInstances {
			return nil, structural("more than %d ARC sets", MaxInstances)
		}
		if err := addField(byInstance, kind, f); err != nil {
			return nil, err
		}
	}
	if len(byInstance) == 0 {
		return nil, nil
	}
	if len(byInstance) > MaxInstances {
		return nil, structural("more than %d ARC sets", MaxInstances)
	}
	sets := make([]*Set, len(byInstance))
	for i := range sets {
		s := byInstance[i+1]
		if s == nil {
			return nil, structural("instance %d is missing", i+1)
		}
		if s.Seal.Raw == nil || s.AMS.Raw == nil || s.AAR.Raw == nil {
			return nil, structural("instance %d lacks a field", i+1)
		}
		sets[i] = s
	}
	return sets, nil
}

// arcKind is the canonical name of an ARC field, or "".
func arcKind(name string) string {
	for _, k := range []string{SealField, SignatureField, ResultsField} {
		if strings.EqualFold(name, k) {
			return k
		}
	}
	return ""
}

// addField parses one ARC field and files it under its instance.
func addField(byInstance map[int]*Set, kind string, f auth.Field) error {
	var inst int
	var tags Tags
	var err error
	var authserv, results string
	if kind == ResultsField {
		inst, authserv, results, err = parseAAR(f.Value())
	} else {
		tags, err = ParseTags(f.Value())
		if err == nil {
			inst, err = parseInstance(tags.Value("i"), tags.Has("i"))
		}
	}
	if err != nil {
		return structural("%s: %v", kind, err)
	}
	s := byInstance[inst]
	if s == nil {
		s = &Set{Instance: inst}
		byInstance[inst] = s
	}
	var slot *auth.Field
	switch kind {
	case SealField:
		slot, s.SealTags = &s.Seal, tags
	case SignatureField:
		slot, s.AMSTags = &s.AMS, tags
	default:
		slot, s.AuthservID, s.Results = &s.AAR, authserv, results
	}
	if slot.Raw != nil {
		return structural("two %s fields of instance %d", kind, inst)
	}
	*slot = f
	return nil
}

// parseInstance reads an i= value: 1 to MaxInstances (RFC 8617 §4.2.1).
func parseInstance(v string, present bool) (int, error) {
	if !present {
		return 0, errors.New("no i= tag")
	}
	if v == "" || len(v) > 2 || strings.TrimLeft(v, "0123456789") != "" || v[0] == '0' {
		return 0, fmt.Errorf("bad instance i=%q", v)
	}
	n, _ := strconv.Atoi(v)
	if n > MaxInstances {
		return 0, fmt.Errorf("instance %d above %d", n, MaxInstances)
	}
	return n, nil
}

// parseAAR reads an ARC-Authentication-Results value: "i=N;" then the
// authserv-id and the results of RFC 8601 (RFC 8617 §4.1.1).
func parseAAR(value string) (inst int, authserv, results string, err error) {
	head, rest, ok := strings.Cut(value, ";")
	if !ok {
		return 0, "", "", errors.New("no \";\" after i=")
	}
	name, v, ok := strings.Cut(head, "=")
	if !ok || strings.TrimSpace(name) != "i" {
		return 0, "", "", errors.New("does not start with i=")
	}
	if inst, err = parseInstance(strings.TrimSpace(v), true); err != nil {
		return 0, "", "", err
	}
	authserv, results, _ = strings.Cut(rest, ";")
	return inst, strings.TrimSpace(authserv), strings.TrimSpace(results), nil
}

// fieldIndex finds signed header fields the way DKIM picks them (RFC 6376
// §5.4.2): each name in h= takes the next field of that name from the
// bottom. Building the index once keeps the cost linear in h= entries.
type fieldIndex map[string][]int

func newFieldIndex(fields []auth.Field) fieldIndex {
	idx := fieldIndex{}
	for i, f := range fields {
		k := strings.ToLower(f.Name)
		idx[k] = append(idx[k], i)
	}
	return idx
}

// pick returns the fields signed by an h= list, bottom-up per name; a name
// with no field left signs nothing (RFC 6376 §5.4.2).
func (idx fieldIndex) pick(fields []auth.Field, names []string) []auth.Field {
	used := map[string]int{}
	out := make([]auth.Field, 0, len(names))
	for _, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		at := idx[k]
		u := used[k]
		if u >= len(at) {
			continue
		}
		used[k] = u + 1
		out = append(out, fields[at[len(at)-1-u]])
	}
	return out
}
