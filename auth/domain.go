package auth

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

var errBadDomain = errors.New("auth: not a valid domain name")

// normalizeDomain returns the lower-case A-label form of a domain name
// without its trailing dot (RFC 5890 §2.3.2.1; DNS compares A-labels).
// Domain literals, empty labels and over-long names are refused.
func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || strings.HasPrefix(d, "[") {
		return "", errBadDomain
	}
	if !isASCII(d) {
		if !utf8.ValidString(d) {
			return "", errBadDomain
		}
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", errBadDomain
		}
		d = a
	}
	d = strings.ToLower(d)
	if !validDomainSyntax(d) {
		return "", errBadDomain
	}
	return d, nil
}

// validDomainSyntax checks an ASCII name: labels of 1 to 63 letters,
// digits, hyphens or underscores, 253 characters at most (RFC 1035 §2.3.4;
// underscores occur in real names).
func validDomainSyntax(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
