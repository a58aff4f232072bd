package resolver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// packed returns the wire form of a response built from zone-file records.
func packed(f *testing.F, rcode int, qname string, qtype uint16, answer ...string) []byte {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response, m.Rcode = true, rcode
	for _, text := range answer {
		rr, err := dns.NewRR(text)
		if err != nil {
			f.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	b, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzInterpret feeds arbitrary upstream answers, the untrusted input of
// this package, through the code that reads them.
func FuzzInterpret(f *testing.F) {
	f.Add(packed(f, 0, "a.test.", dns.TypeTXT, `a.test. 60 IN TXT "v=spf1 " "-all"`), uint16(dns.TypeTXT))
	f.Add(packed(f, 0, "a.test.", dns.TypeA, "a.test. 60 IN CNAME b.test.", "b.test. 5 IN A 192.0.2.1"), uint16(dns.TypeA))
	f.Add(packed(f, 0, "a.test.", dns.TypeA, "a.test. 60 IN CNAME a.test."), uint16(dns.TypeA))
	f.Add(packed(f, 3, "a.test.", dns.TypeMX), uint16(dns.TypeMX))
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}, uint16(dns.TypeTXT))
	c, err := New(Config{Servers: []string{"127.0.0.1:1"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wire []byte, qtype uint16) {
		resp := new(dns.Msg)
		if resp.Unpack(wire) != nil {
			return
		}
		ans, fail, ttl := c.interpret(resp, "a.test.", qtype, "127.0.0.1:1")
		if ans == nil || ttl < 0 || ttl > time.Hour {
			t.Fatalf("answer %+v, ttl %v", ans, ttl)
		}
		if (fail == nil) != (len(ans.RRs) > 0) {
			t.Fatalf("failure %v with %d records", fail, len(ans.RRs))
		}
		for _, rr := range ans.RRs {
			if rr.Header().Rrtype != qtype {
				t.Fatalf("record %v is not of the asked type %d", rr, qtype)
			}
		}
		if fail != nil {
			if err := fail.dnsError("a.test"); !err.IsNotFound {
				t.Fatalf("negative answer not IsNotFound: %v", err)
			}
		}
	})
}

// FuzzCanonicalName checks that any name a caller passes is either
// rejected cleanly or turned into a valid lower-case FQDN.
func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"Example.ORG", "_dmarc.example.org.", "", ".", "a..b", `a\.b.test`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		fqdn, err := canonicalName(name)
		if err != nil {
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("rejection %v is not ErrPermanent", err)
			}
			return
		}
		if _, ok := dns.IsDomainName(fqdn); !ok || !dns.IsFqdn(fqdn) || strings.ContainsAny(fqdn, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("canonicalName(%q) = %q", name, fqdn)
		}
		if _, err := new(dns.Msg).SetQuestion(fqdn, dns.TypeTXT).Pack(); err != nil {
			t.Fatalf("accepted name %q cannot be sent: %v", fqdn, err)
		}
	})
}
