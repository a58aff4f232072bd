package smtpd

import "strings"

// domainSet is smtp.accept_domains as a matcher. An entry "example.org"
// matches that domain only; an entry ".example.org" matches every
// subdomain of example.org at any depth (a.example.org, b.a.example.org)
// but not example.org itself, as Postfix's relay_domains reads such an
// entry with parent_domain_matches_subdomains unset.
type domainSet struct {
	exact    map[string]bool
	suffixes []string // each with its leading dot
}

// newDomainSet takes entries already lower-cased, without a trailing dot
// (as config validation leaves them).
func newDomainSet(entries []string) domainSet {
	s := domainSet{exact: make(map[string]bool, len(entries))}
	for _, d := range entries {
		if strings.HasPrefix(d, ".") {
			s.suffixes = append(s.suffixes, d)
		} else {
			s.exact[d] = true
		}
	}
	return s
}

// Match reports whether domain (lower case, as splitAddress gives it) is
// one of ours.
func (s domainSet) Match(domain string) bool {
	if s.exact[domain] {
		return true
	}
	for _, suf := range s.suffixes {
		// An empty label before the suffix ("a..example.org") is no
		// subdomain.
		n := len(domain) - len(suf)
		if n > 0 && domain[n-1] != '.' && strings.HasSuffix(domain, suf) {
			return true
		}
	}
	return false
}
