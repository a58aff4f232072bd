package resolvertest

import (
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxCNAMEHops bounds CNAME chasing inside the served data.
const maxCNAMEHops = 8

// ServeDNS answers one query; it implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, overUDP := w.RemoteAddr().(*net.UDPAddr)
	resp, delay := s.respond(req, overUDP)
	if resp == nil {
		return // silenced: let the client time out
	}
	time.Sleep(delay)
	_ = w.WriteMsg(resp)
}

// respond builds the answer to req, or nil when the name is silenced,
// and says how long to wait before sending it.
func (s *Server) respond(req *dns.Msg, overUDP bool) (*dns.Msg, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answer(req, overUDP), s.delay
}

// answer builds the answer to req; s.mu is held.
func (s *Server) answer(req *dns.Msg, overUDP bool) *dns.Msg {
	resp := new(dns.Msg)
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		return resp.SetRcode(req, dns.RcodeFormatError)
	}
	q := req.Question[0]
	name := key(q.Name)
	s.counts[question{name, q.Qtype}]++
	s.total++
	if s.silenced[name] {
		return nil
	}
	if rcode, ok := s.rcodes[name]; ok {
		return resp.SetRcode(req, rcode)
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.AuthenticatedData = s.ad
	if s.truncated[name] && overUDP {
		resp.Truncated = true
		return withEDNS(resp, req, overUDP)
	}
	resp.Rcode, resp.Answer, resp.Ns = s.resolve(name, q.Qtype)
	return withEDNS(resp, req, overUDP)
}

// withEDNS echoes the query's EDNS0 (RFC 6891 §7) and, over UDP, trims
// the answer to the client's buffer, setting TC when records were left out.
func withEDNS(resp, req *dns.Msg, overUDP bool) *dns.Msg {
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		resp.SetEdns0(opt.UDPSize(), opt.Do())
	}
	if !overUDP {
		size = dns.MaxMsgSize
	}
	resp.Truncate(size)
	return resp
}

// resolve looks name up in the served data, following CNAMEs for any
// other type (RFC 1034 §4.3.2). The RCODE is that of the last name in the
// chain (RFC 6604 §2.1); negative answers carry an SOA (RFC 2308 §3).
func (s *Server) resolve(name string, qtype uint16) (int, []dns.RR, []dns.RR) {
	var answer []dns.RR
	for hop := 0; hop <= maxCNAMEHops; hop++ {
		rrs := s.records[name]
		var cname *dns.CNAME
		var matched []dns.RR
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype || qtype == dns.TypeANY {
				matched = append(matched, dns.Copy(rr))
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		switch {
		case len(matched) > 0:
			return dns.RcodeSuccess, append(answer, matched...), nil
		case cname != nil && qtype != dns.TypeCNAME:
			answer = append(answer, dns.Copy(cname))
			name = key(cname.Target)
		case len(rrs) > 0 || s.hasDescendant(name):
			return dns.RcodeSuccess, answer, []dns.RR{s.soaFor(name)}
		default:
			return dns.RcodeNameError, answer, []dns.RR{s.soaFor(name)}
		}
	}
	return dns.RcodeServerFailure, nil, nil // CNAME loop or overlong chain
}

// hasDescendant reports whether records exist below name, which makes
// name an empty non-terminal: it exists, with no records (RFC 8020 §2).
func (s *Server) hasDescendant(name string) bool {
	for owner := range s.records {
		if owner != name && dns.IsSubDomain(name, owner) {
			return true
		}
	}
	return false
}

// soaFor returns the SOA of the closest enclosing name that has one in
// the served data, or a synthetic one for name's last two labels.
func (s *Server) soaFor(name string) dns.RR {
	for n := name; ; {
		for _, rr := range s.records[n] {
			if soa, ok := rr.(*dns.SOA); ok {
				return dns.Copy(soa)
			}
		}
		i := strings.IndexByte(n, '.')
		if n == "." || i < 0 || i == len(n)-1 {
			break
		}
		n = n[i+1:]
	}
	labels := dns.SplitDomainName(name)
	apex := "."
	if len(labels) > 0 {
		apex = dns.Fqdn(strings.Join(labels[max(0, len(labels)-2):], "."))
	}
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: s.soaMinimum},
		Ns:  "ns.resolvertest.invalid.", Mbox: "hostmaster.resolvertest.invalid.",
		Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: s.soaMinimum,
	}
}
