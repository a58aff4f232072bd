package policy

import (
	"net/url"
	"strings"
)

// parseURIList parses dmarc-urilist (RFC 9989 §4.8): comma-separated URIs,
// each possibly followed by the obsolete "!size" suffix of RFC 7489, which
// is stripped. Invalid URIs are dropped; those of schemes we do not deliver
// to are kept (the reporter ignores them, RFC 9989 §4.7 "rua").
func parseURIList(v string) []URI {
	var out []URI
	for _, raw := range strings.Split(v, ",") {
		if u, ok := parseURI(trimWSP(raw)); ok {
			out = append(out, u)
		}
	}
	return out
}

// parseURI parses one dmarc-uri / obs-dmarc-uri. For mailto: the Address is
// the addr-spec, percent-decoded, without any "?header" part (RFC 6068).
func parseURI(raw string) (URI, bool) {
	s, ok := stripSizeSuffix(raw)
	if !ok || !uriChars(s) {
		return URI{}, false
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !validScheme(scheme) || rest == "" {
		return URI{}, false
	}
	u := URI{Raw: raw, Scheme: strings.ToLower(scheme)}
	if u.Scheme != "mailto" {
		if _, err := url.Parse(s); err != nil {
			return URI{}, false
		}
		return u, true
	}
	addr, _, _ := strings.Cut(rest, "?")
	addr, err := url.PathUnescape(addr)
	if err != nil || !validAddrSpec(addr) {
		return URI{}, false
	}
	u.Address = addr
	return u, true
}

// stripSizeSuffix removes obs-dmarc-report-size: "!" 1*DIGIT [k/m/g/t].
// Any other "!" is invalid: it must be percent-encoded (RFC 9989 §4.8).
func stripSizeSuffix(s string) (string, bool) {
	i := strings.IndexByte(s, '!')
	if i < 0 {
		return s, true
	}
	size := s[i+1:]
	if n := len(size); n > 1 && strings.IndexByte("kmgtKMGT", size[n-1]) >= 0 {
		size = size[:n-1]
	}
	if size == "" || strings.TrimLeft(size, "0123456789") != "" {
		return "", false
	}
	return s[:i], true
}

// validScheme checks scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
// (RFC 3986 §3.1).
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[:1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(s[i:i+1]) && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// uriChars refuses what never occurs unencoded in a URI (RFC 3986 §2).
func uriChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			return false
		}
	}
	return true
}

// validAddrSpec is a light check of local-part "@" domain: both parts
// present, no whitespace or control characters, a dotted domain.
func validAddrSpec(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= 0x20 || c == 0x7f {
			return false
		}
	}
	_, err := normalizeDomain(a[at+1:])
	return err == nil
}
