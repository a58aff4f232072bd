package inbound

import "strings"

// Domains says which policy domains reports are kept for: the listed ones
// and their subdomains (a leading dot, as in smtp.accept_domains, means
// the same here).
type Domains []string

// Has reports whether d is one of the domains or below one.
func (ds Domains) Has(d string) bool {
	d = normDomain(d)
	if d == "" {
		return false
	}
	for _, want := range ds {
		want = strings.TrimPrefix(normDomain(want), ".")
		if d == want || strings.HasSuffix(d, "."+want) {
			return true
		}
	}
	return false
}
