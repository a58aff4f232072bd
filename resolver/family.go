package resolver

import (
	"context"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// LookupIP returns host's addresses of one family, as *net.Resolver's
// LookupIP does: network "ip4" asks for A only, "ip6" for AAAA only, "ip"
// for both. SPF asks only for the client's family (RFC 7208 §5.3, §5.4).
func (c *Client) LookupIP(ctx context.Context, network, host string) ([]net.IP, error) {
	if network == "ip" {
		addrs, err := c.LookupIPAddr(ctx, host)
		ips := make([]net.IP, 0, len(addrs))
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
		return ips, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4() == (network == "ip4") {
			return []net.IP{net.IP(ip.AsSlice())}, nil
		}
		return nil, nil
	}
	qtype := dns.TypeA
	if network == "ip6" {
		qtype = dns.TypeAAAA
	}
	ans, err := c.Query(ctx, host, qtype)
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, rr := range ans.RRs {
		switch v := rr.(type) {
		case *dns.A:
			ips = append(ips, v.A)
		case *dns.AAAA:
			ips = append(ips, v.AAAA)
		}
	}
	return ips, nil
}
