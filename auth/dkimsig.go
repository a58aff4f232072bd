package auth

import (
	"strings"

	"dmarcgate/policy"
)

// DKIMOutcome is the verdict on one DKIM-Signature header field.
type DKIMOutcome struct {
	Domain    string // d=, lower-case
	Selector  string // s=
	Algorithm string // a=, lower-case, e.g. "rsa-sha256", "ed25519-sha256"
	// Result is pass, fail, neutral, policy, temperror or permerror.
	Result policy.Result
	// Reason says why a signature did not pass.
	Reason string
	// HeaderB is the start of b= for the header.b property (RFC 6008 §2):
	// at least eight characters, more when needed to tell this signature
	// from the message's others.
	HeaderB string
}

// ToPolicy returns the outcome as policy.Evaluate takes it.
func (o DKIMOutcome) ToPolicy() policy.DKIMResult {
	return policy.DKIMResult{Domain: o.Domain, Selector: o.Selector, Result: o.Result, Reason: o.Reason}
}

// DKIMToPolicy converts a message's outcomes for policy.Input.
func DKIMToPolicy(outs []DKIMOutcome) []policy.DKIMResult {
	res := make([]policy.DKIMResult, 0, len(outs))
	for _, o := range outs {
		res = append(res, o.ToPolicy())
	}
	return res
}

// sigTags are the tags of a DKIM-Signature that the DKIM library does not
// report back (RFC 6376 §3.5).
type sigTags struct {
	domain, selector, algorithm, b string
	signed                         int // entries in h=: header fields the library looks up
}

// dkimSignatureTags returns the tags of every DKIM-Signature field of a
// header block, in order: the same fields, in the same order, that the
// verifier checks.
func dkimSignatureTags(header []byte) []sigTags {
	var out []sigTags
	for _, f := range fieldsNamed(header, "DKIM-Signature") {
		out = append(out, parseSigTags(f.Value()))
	}
	return out
}

// parseSigTags reads a tag-list (RFC 6376 §3.2) leniently: the verifier
// judges its validity; the first occurrence of a tag wins. Of b= only the
// first maxHeaderB characters are kept: header.b needs no more.
func parseSigTags(value string) sigTags {
	var t sigTags
	var seen [5]bool // d, s, a, b, h
	for rest := value; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ";")
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || len(k) != 1 {
			continue
		}
		i := strings.IndexByte("dsabh", k[0])
		if i < 0 || seen[i] {
			continue
		}
		seen[i] = true
		switch k[0] {
		case 'd':
			t.domain = strings.ToLower(strings.TrimSuffix(stripFWS(v, len(v)), "."))
		case 's':
			t.selector = stripFWS(v, len(v))
		case 'a':
			t.algorithm = strings.ToLower(stripFWS(v, len(v)))
		case 'b':
			t.b = stripFWS(v, maxHeaderB)
		case 'h':
			t.signed = strings.Count(v, ":") + 1
		}
	}
	return t
}

// stripFWS returns up to max characters of s without its white space; tag
// values other than those we read carry none that matters (RFC 6376 §3.2).
func stripFWS(s string, max int) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s[:min(len(s), max)]
	}
	var sb strings.Builder
	sb.Grow(min(len(s), max))
	for i := 0; i < len(s) && sb.Len() < max; i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// headerBPrefixes sets HeaderB to the shortest prefix of each b= of at least
// eight characters that no other signature of the message shares (RFC 6008
// §2).
// maxHeaderB caps the header.b prefix (RFC 6008 asks for at least 8).
const maxHeaderB = 64

func headerBPrefixes(outs []DKIMOutcome, bs []string) {
	for i := range outs {
		if i >= len(bs) {
			return
		}
		// Bounded: identical hostile b= values must not cost quadratic time.
		limit := min(len(bs[i]), maxHeaderB)
		n := min(8, limit)
		for n < limit && sharesPrefix(bs, i, bs[i][:n]) {
			n++
		}
		outs[i].HeaderB = bs[i][:n]
	}
}

func sharesPrefix(bs []string, self int, prefix string) bool {
	for j, b := range bs {
		if j != self && strings.HasPrefix(b, prefix) {
			return true
		}
	}
	return false
}
