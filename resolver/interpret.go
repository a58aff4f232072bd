package resolver

import (
	"math"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxCNAMEHops bounds how many CNAMEs are followed in one answer.
const maxCNAMEHops = 8

// interpret turns a NOERROR or NXDOMAIN response into an Answer, plus a
// failure when there are no records of the asked type, and says how long
// the result may be cached.
func (c *Client) interpret(resp *dns.Msg, fqdn string, qtype uint16, server string) (*Answer, *failure, time.Duration) {
	rrs, ttl := followChain(resp.Answer, fqdn, qtype)
	ans := &Answer{Name: fqdn, Type: qtype, RRs: rrs, Authentic: resp.AuthenticatedData, Rcode: resp.Rcode}
	if len(rrs) > 0 {
		ans.TTL = c.clampTTL(ttl)
		return ans, nil, ans.TTL
	}
	neg := c.negativeTTL(resp)
	ans.TTL = neg
	if resp.Rcode == dns.RcodeNameError {
		return ans, &failure{kind: outcomeNXDomain, msg: "no such domain", server: server}, neg
	}
	return ans, &failure{kind: outcomeNoData, msg: "no " + dns.Type(qtype).String() + " records", server: server}, neg
}

// followChain returns the records of type qtype owned by name, following
// CNAMEs in the answer section (RFC 1034 §3.6.2), and the smallest TTL met
// along the way in seconds.
func followChain(answer []dns.RR, name string, qtype uint16) ([]dns.RR, uint32) {
	minTTL := uint32(math.MaxUint32)
	target := name
	for hop := 0; hop <= maxCNAMEHops; hop++ {
		var found []dns.RR
		var next *dns.CNAME
		for _, rr := range answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, target) {
				continue
			}
			if h.Rrtype == qtype {
				found = append(found, rr)
			} else if cname, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				next = cname
			}
		}
		if len(found) > 0 {
			for _, rr := range found {
				minTTL = min(minTTL, rr.Header().Ttl)
			}
			return found, minTTL
		}
		if next == nil {
			return nil, 0
		}
		minTTL = min(minTTL, next.Hdr.Ttl)
		target = next.Target
	}
	return nil, 0
}

// clampTTL converts a TTL in seconds and holds it within [MinTTL, MaxTTL].
func (c *Client) clampTTL(seconds uint32) time.Duration {
	ttl := time.Duration(seconds) * time.Second
	return min(max(ttl, c.cfg.MinTTL), c.cfg.MaxTTL)
}

// negativeTTL is how long an NXDOMAIN or NODATA answer may be cached: the
// lesser of the SOA's TTL and MINIMUM field (RFC 2308 §5), a default when
// the authority section has no SOA, and never above NegativeTTL.
func (c *Client) negativeTTL(resp *dns.Msg) time.Duration {
	ttl := defaultNegativeNoSOA
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			ttl = time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
			break
		}
	}
	return min(ttl, c.cfg.NegativeTTL)
}
