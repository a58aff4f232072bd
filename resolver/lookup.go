package resolver

import (
	"context"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// LookupTXT returns name's TXT records, each one string: the
// character-strings of a record concatenated without separator (RFC 7208 §3.3).
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, _, err := c.LookupTXTAuthentic(ctx, name)
	return txts, err
}

// LookupTXTAuthentic is LookupTXT that also reports the AD bit of the
// answer (or of the negative answer, when err is NXDOMAIN/NODATA).
func (c *Client) LookupTXTAuthentic(ctx context.Context, name string) ([]string, bool, error) {
	ans, err := c.Query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, ans != nil && ans.Authentic, err
	}
	txts := make([]string, 0, len(ans.RRs))
	for _, rr := range ans.RRs {
		if txt, ok := rr.(*dns.TXT); ok {
			if len(txt.Txt) == 1 {
				txts = append(txts, txtBytes(txt.Txt[0]))
				continue
			}
			var b strings.Builder
			for _, part := range txt.Txt {
				b.WriteString(txtBytes(part))
			}
			txts = append(txts, b.String())
		}
	}
	return txts, ans.Authentic, nil
}

// LookupMX returns name's MX records sorted by preference, lowest first
// (RFC 5321 §5.1). Equal preferences keep the order of the answer.
func (c *Client) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	ans, err := c.Query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	mxs := make([]*net.MX, 0, len(ans.RRs))
	for _, rr := range ans.RRs {
		if mx, ok := rr.(*dns.MX); ok {
			mxs = append(mxs, &net.MX{Host: mx.Mx, Pref: mx.Preference})
		}
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	return mxs, nil
}

// LookupIPAddr returns host's IPv4 and IPv6 addresses (A and AAAA asked
// together); an IP literal is returned as is. Either family alone is
// enough; the error is NXDOMAIN only when both answers say so.
func (c *Client) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []net.IPAddr{{IP: net.IP(ip.AsSlice()), Zone: ip.Zone()}}, nil
	}
	type result struct {
		ans *Answer
		err error
	}
	v6 := make(chan result, 1)
	go func() {
		ans, err := c.Query(ctx, host, dns.TypeAAAA)
		v6 <- result{ans, err}
	}()
	ans4, err4 := c.Query(ctx, host, dns.TypeA)
	r6 := <-v6
	var addrs []net.IPAddr
	if err4 == nil {
		for _, rr := range ans4.RRs {
			if a, ok := rr.(*dns.A); ok {
				addrs = append(addrs, net.IPAddr{IP: a.A})
			}
		}
	}
	if r6.err == nil {
		for _, rr := range r6.ans.RRs {
			if aaaa, ok := rr.(*dns.AAAA); ok {
				addrs = append(addrs, net.IPAddr{IP: aaaa.AAAA})
			}
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	return nil, combineErrors(err4, r6.err)
}

// combineErrors picks the error for an address lookup in which neither
// family gave an address: a temporary failure first (trying later may
// help), then a permanent one, then NODATA unless both say NXDOMAIN.
func combineErrors(err4, err6 error) error {
	switch {
	case IsTemporary(err4):
		return err4
	case IsTemporary(err6):
		return err6
	case err4 != nil && !IsNotFound(err4):
		return err4
	case err6 != nil && !IsNotFound(err6):
		return err6
	case IsNXDomain(err4) && !IsNXDomain(err6) && err6 != nil:
		return err6
	case err4 != nil:
		return err4
	default:
		return err6
	}
}

// LookupAddr returns the PTR names of an IP address, looked up under
// in-addr.arpa or ip6.arpa (RFC 1035 §3.5, RFC 3596 §2.5).
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	arpa, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, (&failure{kind: outcomePermanent, msg: "unrecognized address"}).dnsError(addr)
	}
	ans, qerr := c.Query(ctx, arpa, dns.TypePTR)
	if qerr != nil {
		if de, ok := qerr.(*net.DNSError); ok {
			de.Name = addr // name the address asked about, as net.Resolver does
		}
		return nil, qerr
	}
	names := make([]string, 0, len(ans.RRs))
	for _, rr := range ans.RRs {
		if ptr, ok := rr.(*dns.PTR); ok {
			names = append(names, ptr.Ptr)
		}
	}
	return names, nil
}
