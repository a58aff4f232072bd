package arc

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"dmarcgate/auth"
)

// sig is what ARC-Seal and ARC-Message-Signature share (RFC 8617 §4.1.2,
// §4.1.3): algorithm, signature, signing domain and selector.
type sig struct {
	algorithm string
	b         []byte
	domain    string
	selector  string
}

// amsSig is a parsed ARC-Message-Signature: a DKIM-Signature without v=
// and with i= the instance (RFC 8617 §4.1.2).
type amsSig struct {
	sig
	headerCanon, bodyCanon string
	bh                     []byte
	headers                []string
	limit                  int64 // -1: no l=
}

func parseSig(t Tags) (sig, error) {
	var s sig
	for _, name := range []string{"a", "b", "d", "s"} {
		if t.Value(name) == "" {
			return s, fmt.Errorf("no %s= tag", name)
		}
	}
	s.algorithm = t.Value("a")
	if KeyType(s.algorithm) == "" {
		return s, fmt.Errorf("unsupported algorithm a=%s", s.algorithm)
	}
	b, err := base64.StdEncoding.DecodeString(Compact(t.Value("b")))
	if err != nil {
		return s, errors.New("b= is not base64")
	}
	s.b, s.domain, s.selector = b, strings.ToLower(t.Value("d")), t.Value("s")
	if t.Has("t") {
		if _, err := strconv.ParseUint(t.Value("t"), 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp t=%q", t.Value("t"))
		}
	}
	return s, nil
}

func parseAMS(t Tags) (*amsSig, error) {
	s, err := parseSig(t)
	if err != nil {
		return nil, err
	}
	a := &amsSig{sig: s, limit: -1}
	c, hasC := t.Get("c")
	if hasC && c == "" {
		return nil, errors.New("empty c= tag")
	}
	if a.headerCanon, a.bodyCanon, err = ParseCanon(c); err != nil {
		return nil, err
	}
	if a.bh, err = base64.StdEncoding.DecodeString(Compact(t.Value("bh"))); err != nil || len(a.bh) == 0 {
		return nil, errors.New("bad or missing bh=")
	}
	h, ok := t.Get("h")
	if !ok {
		return nil, errors.New("no h= tag")
	}
	for _, name := range strings.Split(Compact(h), ":") {
		if strings.EqualFold(name, SealField) {
			return nil, errors.New("h= lists ARC-Seal (RFC 8617 §4.1.2)")
		}
		if name != "" {
			a.headers = append(a.headers, name)
		}
	}
	if l, ok := t.Get("l"); ok {
		if a.limit, err = strconv.ParseInt(l, 10, 64); err != nil || a.limit < 0 {
			return nil, fmt.Errorf("bad body length l=%q", l)
		}
	}
	return a, nil
}

// parseSeal reads an ARC-Seal's tags: no h= (RFC 8617 §4.1.3), a cv=.
func parseSeal(t Tags) (sig, error) {
	if t.Has("h") {
		return sig{}, errors.New("ARC-Seal must not have h=")
	}
	return parseSig(t)
}

// keyAnswer is a key lookup's outcome, kept per message.
type keyAnswer struct {
	key *Key
	err error
}

// run is one chain validation: its key lookups and header work, bounded.
type run struct {
	c          *Check
	ctx        context.Context
	keys       map[string]keyAnswer
	lookups    int
	maxLookups int
	work       int
}

// key fetches a key once per message, within the lookup budget.
func (r *run) key(s sig) (*Key, error) {
	name := KeyName(s.selector, s.domain)
	if a, ok := r.keys[name]; ok {
		return a.key, a.err
	}
	if r.lookups >= r.maxLookups {
		return nil, fmt.Errorf("more than %d key lookups", r.maxLookups)
	}
	r.lookups++
	k, err := LookupKey(r.ctx, r.c.v.Resolver, s.selector, s.domain)
	r.keys[name] = keyAnswer{k, err}
	return k, err
}

// canon canonicalizes a field within the header work budget.
func (r *run) canon(dst []byte, f []byte, algorithm string) ([]byte, error) {
	if r.work += len(f); r.work > maxHeaderWork {
		return nil, errors.New("the chain's header fields are too large to verify")
	}
	return append(dst, CanonHeader(f, algorithm)...), nil
}

// verifyAMS checks an ARC-Message-Signature like a DKIM signature: body
// hash, then the signed fields and itself without b= (RFC 8617 §5.2 step 4).
func (r *run) verifyAMS(s *Set) error {
	a, err := parseAMS(s.AMSTags)
	if err != nil {
		return fmt.Errorf("ARC-Message-Signature i=%d: %w", s.Instance, err)
	}
	h := r.c.hasherFor(a)
	if h == nil {
		return fmt.Errorf("ARC-Message-Signature i=%d: body not hashed (too many canonicalizations)", s.Instance)
	}
	if a.limit > h.h.Length() {
		return fmt.Errorf("ARC-Message-Signature i=%d: l= longer than the body", s.Instance)
	}
	if !bytes.Equal(h.sum, a.bh) {
		return fmt.Errorf("ARC-Message-Signature i=%d: body hash does not match", s.Instance)
	}
	var data []byte
	for _, f := range newFieldIndexOnce(r.c).pick(r.c.fields, a.headers) {
		if data, err = r.canon(data, f.Raw, a.headerCanon); err != nil {
			return err
		}
	}
	return r.verifySig(data, s.AMS, a.headerCanon, a.sig, "ARC-Message-Signature", s.Instance)
}

// verifySeal checks the ARC-Seal of sets[i]: it signs every ARC field of
// instances 1..i, each set as AAR, AMS, AS, its own b= empty, relaxed
// (RFC 8617 §5.1.1).
func (r *run) verifySeal(i int) error {
	s := r.c.sets[i]
	sg, err := parseSeal(s.SealTags)
	if err != nil {
		return fmt.Errorf("ARC-Seal i=%d: %w", s.Instance, err)
	}
	var data []byte
	for _, prev := range r.c.sets[:i+1] {
		for _, f := range []auth.Field{prev.AAR, prev.AMS, prev.Seal} {
			if prev == s && f.Start == s.Seal.Start {
				break
			}
			if data, err = r.canon(data, f.Raw, Relaxed); err != nil {
				return err
			}
		}
	}
	return r.verifySig(data, s.Seal, Relaxed, sg, "ARC-Seal", s.Instance)
}

// verifySig appends the signature field itself (b= emptied, no final
// CRLF) and checks the signature with its key.
func (r *run) verifySig(data []byte, f auth.Field, canon string, sg sig, what string, inst int) error {
	self, err := r.canon(nil, StripSignature(f.Raw), canon)
	if err != nil {
		return err
	}
	data = append(data, bytes.TrimSuffix(self, []byte("\r\n"))...)
	key, err := r.key(sg)
	if err != nil {
		return fmt.Errorf("%s i=%d: %w", what, inst, err)
	}
	if err := Verify(key, sg.algorithm, data, sg.b); err != nil {
		return fmt.Errorf("%s i=%d (d=%s s=%s): %w", what, inst, sg.domain, sg.selector, err)
	}
	return nil
}

// oldestPass validates the older AMSs, newest first, while the budget
// lasts (RFC 8617 §5.2 step 6): the instance above the first that fails,
// or 0 when all validate.
func (r *run) oldestPass() int {
	for i := len(r.c.sets) - 2; i >= 0; i-- {
		if r.verifyAMS(r.c.sets[i]) != nil {
			return i + 2
		}
	}
	return 0
}

// newFieldIndexOnce builds the check's field index on first use.
func newFieldIndexOnce(c *Check) fieldIndex {
	if c.index == nil {
		c.index = newFieldIndex(c.fields)
	}
	return c.index
}
