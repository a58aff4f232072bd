package auth

import (
	"context"
	"net"
	"strings"
)

// maxSPFQueries bounds the DNS queries of one SPF check: the record, then
// ten terms that cost a lookup (RFC 7208 §4.6.4), each at most an MX or PTR
// query and ten address lookups of one family. A record within the RFC's
// limits never reaches it.
const maxSPFQueries = 1 + 10*(1+10)

// ipLookuper is the family-aware lookup of resolver.Client and
// *net.Resolver.
type ipLookuper interface {
	LookupIP(ctx context.Context, network, host string) ([]net.IP, error)
}

// LookupIPAddr serves the a, mx, ptr and exists terms. An "a" target, an
// MX host and a PTR name are matched against the client only, so only its
// family is asked for (RFC 7208 §5.3, §5.4, §5.5). An exists term wants A
// records whatever the client (§5.7); the library does not say which term
// asks, so an IPv6 client's lookups other than MX hosts and PTR names ask
// for both families once a record read has an exists term.
func (s *spfResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	q, err := queryName(host)
	if err != nil {
		return nil, err
	}
	network := "ip4"
	if s.ip.To4() == nil {
		network = "ip6"
		if s.sawExists && !s.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
			network = "ip"
		}
	}
	lk, ok := s.r.(ipLookuper)
	if !ok {
		network = "ip"
	}
	cost := 1
	if network == "ip" {
		cost = 2
	}
	if err := s.charge(cost, host); err != nil {
		return nil, err
	}
	if !ok {
		v, err := s.r.LookupIPAddr(ctx, q)
		return v, dnsError(err, host)
	}
	ips, err := lk.LookupIP(ctx, network, q)
	addrs := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		addrs[i] = net.IPAddr{IP: ip}
	}
	return addrs, dnsError(err, host)
}

// charge takes n queries from the budget; past it, the lookup fails and
// the check ends in permerror.
func (s *spfResolver) charge(n int, name string) error {
	if s.budgetErr == "" && s.budget >= n {
		s.budget -= n
		return nil
	}
	s.budgetErr = "SPF check exceeds its DNS query budget (RFC 7208 §4.6.4)"
	return &net.DNSError{Err: "query budget exhausted", Name: name, IsTemporary: true}
}

// noteHost remembers an MX host or PTR name: matched against the client only.
func (s *spfResolver) noteHost(name string) {
	if s.hosts == nil {
		s.hosts = map[string]bool{}
	}
	s.hosts[strings.ToLower(strings.TrimSuffix(name, "."))] = true
}

// noteExists notes an SPF record among txts with an exists term.
func (s *spfResolver) noteExists(txts []string) {
	for _, t := range txts {
		if isSPFRecord(t) && strings.Contains(strings.ToLower(t), "exists:") {
			s.sawExists = true
		}
	}
}
