package policy

import (
	"strconv"
	"strings"
)

// DMARC tag names (RFC 9989 §4.7; pct, rf and ri are RFC 7489 §6.3).
const (
	tagV = "v"
	tagP = "p"
)

// ParseRecord parses one DMARC Policy Record (RFC 9989 §4.7, §4.8).
//
// The record must start with the v tag whose value is exactly "DMARC1".
// Tag names and the values of p, sp, np, psd, t, adkim, aspf and fo are
// compared without regard to case (RFC 5234 quoted strings). A tag that
// occurs twice makes the record invalid (RFC 6376 §3.2, whose tag-list
// syntax DMARC uses). Unknown tags are ignored; an invalid value of psd, t,
// adkim, aspf, fo or pct falls back to the tag's default (RFC 9989 §4.8).
// A record without a valid p (or with an invalid sp or np) acts as p=none
// when rua holds at least one valid URI, and is otherwise ErrInvalidRecord
// (RFC 9989 §4.10.1).
func ParseRecord(txt string) (*Record, error) {
	r := &Record{Raw: txt, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed}
	rest, ok := cutVersion(txt)
	if !ok {
		return nil, invalid("does not start with v=DMARC1")
	}
	st := parseState{seen: map[string]bool{tagV: true}}
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, ";")
		if err := st.tag(r, seg); err != nil {
			return nil, err
		}
	}
	return st.finish(r)
}

// parseState tracks what ParseRecord has seen beyond the Record itself.
type parseState struct {
	seen       map[string]bool // tag names, for duplicates
	pValid     bool
	subInvalid bool // sp= or np= present with an invalid value
}

// tag applies one "name=value" segment to r.
func (st *parseState) tag(r *Record, seg string) error {
	seg = trimWSP(seg)
	if seg == "" {
		return nil // "v=DMARC1;;p=none" or the trailing separator
	}
	name, value, ok := strings.Cut(seg, "=")
	name, value = strings.ToLower(trimWSP(name)), trimWSP(value)
	if !ok || !isAlpha(name) {
		return nil // a syntax error in the remainder is ignored (§4.8)
	}
	if st.seen[name] {
		return invalid("tag " + name + " occurs twice")
	}
	st.seen[name] = true
	if !validValue(value) {
		value = "" // every rule below refuses the empty value
	}
	st.apply(r, name, value)
	return nil
}

// apply sets the field of one known tag; unknown tags are ignored (§4.7).
func (st *parseState) apply(r *Record, name, value string) {
	switch name {
	case tagP:
		r.P, st.pValid = parseAction(value)
	case "sp":
		a, ok := parseAction(value)
		r.SP, st.subInvalid = a, st.subInvalid || !ok
	case "np":
		a, ok := parseAction(value)
		r.NP, st.subInvalid = a, st.subInvalid || !ok
	case "psd":
		if v := strings.ToLower(value); v == "y" || v == "n" || v == "u" {
			r.PSD = v[0]
		}
	case "t":
		r.T = strings.EqualFold(value, "y")
	case "adkim":
		r.ADKIM = parseAlignment(value)
	case "aspf":
		r.ASPF = parseAlignment(value)
	case "rua":
		r.RUA = parseURIList(value)
	case "ruf":
		r.RUF = parseURIList(value)
	case "fo":
		r.FO = parseFO(value)
	case "pct":
		r.Pct, r.HasPct = parsePct(value)
	}
}

// finish applies the defaults and the rule for a record without a usable
// policy (RFC 9989 §4.10.1).
func (st *parseState) finish(r *Record) (*Record, error) {
	if len(r.FO) == 0 {
		r.FO = []string{"0"}
	}
	if st.pValid && !st.subInvalid {
		return r, nil
	}
	if len(r.RUA) == 0 {
		if st.subInvalid {
			return nil, invalid("invalid sp or np tag and no valid rua tag")
		}
		return nil, invalid("no valid p tag and no valid rua tag")
	}
	// "act as if a record containing p=none was retrieved"
	r.P, r.SP, r.NP, r.PolicyFallback = ActionNone, "", "", true
	return r, nil
}

// SelectRecord picks the DMARC Policy Record among the TXT records at one
// _dmarc name (RFC 9989 §4.10 step 2): records that do not start with
// v=DMARC1 are discarded; none left is ErrNoRecord, several are ErrMultiple
// (both also match ErrNoRecord: no policy at that name).
func SelectRecord(txts []string) (*Record, error) {
	found, n := "", 0
	for _, t := range txts {
		if IsDMARCRecord(t) {
			found, n = t, n+1
		}
	}
	switch {
	case n == 0:
		return nil, ErrNoRecord
	case n > 1:
		return nil, errMultiple
	}
	return ParseRecord(found)
}

// IsDMARCRecord reports whether a TXT record starts with the tag v=DMARC1,
// which is what makes it a DMARC Policy Record at all (RFC 9989 §4.7 "v").
func IsDMARCRecord(txt string) bool {
	_, ok := cutVersion(txt)
	return ok
}

// cutVersion checks the leading v=DMARC1 tag and returns what follows it.
// The value is case-sensitive (%s"DMARC1", RFC 9989 §4.8).
func cutVersion(txt string) (string, bool) {
	first, rest, _ := strings.Cut(txt, ";")
	name, value, ok := strings.Cut(first, "=")
	if !ok || !strings.EqualFold(trimWSP(name), tagV) || trimWSP(value) != "DMARC1" {
		return "", false
	}
	return rest, true
}

func parseAction(v string) (Action, bool) {
	switch strings.ToLower(v) {
	case "none":
		return ActionNone, true
	case "quarantine":
		return ActionQuarantine, true
	case "reject":
		return ActionReject, true
	}
	return "", false
}

func parseAlignment(v string) Alignment {
	if strings.EqualFold(v, "s") {
		return Strict
	}
	return Relaxed
}

// parseFO keeps the known failure-reporting options in order, once each.
func parseFO(v string) []string {
	var out []string
	for _, opt := range strings.Split(v, ":") {
		opt = strings.ToLower(trimWSP(opt))
		switch opt {
		case "0", "1", "d", "s":
			if !contains(out, opt) {
				out = append(out, opt)
			}
		}
	}
	return out
}

// parsePct reads the legacy RFC 7489 pct tag: an integer 0..100.
func parsePct(v string) (int, bool) {
	if v == "" || len(v) > 3 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > 100 {
		return 0, false
	}
	return n, true
}

// validValue checks dmarc-value: printable ASCII but ';' (RFC 9989 §4.8).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return v != ""
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// trimWSP trims spaces and tabs (WSP), and CR/LF that zone files leave.
func trimWSP(s string) string { return strings.Trim(s, " \t\r\n") }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var errMultiple = multiErr{}

// multiErr is ErrMultiple that also reads as ErrNoRecord.
type multiErr struct{}

func (multiErr) Error() string { return ErrMultiple.Error() }
func (multiErr) Is(target error) bool {
	return target == ErrMultiple || target == ErrNoRecord
}

func invalid(why string) error { return &invalidErr{why: why} }

// invalidErr is ErrInvalidRecord with the reason.
type invalidErr struct{ why string }

func (e *invalidErr) Error() string        { return ErrInvalidRecord.Error() + ": " + e.why }
func (e *invalidErr) Is(target error) bool { return target == ErrInvalidRecord }
