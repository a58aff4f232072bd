package resolvertest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var testZone = Zone{
	"example.org.": {
		`example.org. 300 IN TXT "v=spf1 -all"`,
		"@ 300 IN MX 10 mx.example.org.",
	},
	"a.b.example.org.":     {"a.b.example.org. 60 IN A 192.0.2.1"},
	"alias.example.org.":   {"alias.example.org. 60 IN CNAME example.org."},
	"dangling.example.org": {"@ 60 IN CNAME nowhere.example.org."},
	"loop1.example.org.":   {"loop1.example.org. 60 IN CNAME loop2.example.org."},
	"loop2.example.org.":   {"loop2.example.org. 60 IN CNAME loop1.example.org."},
}

// ask sends one query to srv over network ("udp" or "tcp").
func ask(t *testing.T, srv *Server, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, true)
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	resp, _, err := c.Exchange(m, srv.Addr())
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return resp
}

func TestAnswers(t *testing.T) {
	srv := Start(t, testZone)
	tests := []struct {
		name      string
		qtype     uint16
		rcode     int
		answers   int
		wantSOA   bool
		firstType uint16
	}{
		{"example.org.", dns.TypeTXT, dns.RcodeSuccess, 1, false, dns.TypeTXT},
		{"EXAMPLE.Org", dns.TypeMX, dns.RcodeSuccess, 1, false, dns.TypeMX},
		{"example.org.", dns.TypeA, dns.RcodeSuccess, 0, true, 0},   // NODATA
		{"b.example.org.", dns.TypeA, dns.RcodeSuccess, 0, true, 0}, // empty non-terminal
		{"missing.example.org.", dns.TypeA, dns.RcodeNameError, 0, true, 0},
		{"alias.example.org.", dns.TypeTXT, dns.RcodeSuccess, 2, false, dns.TypeCNAME},
		{"alias.example.org.", dns.TypeCNAME, dns.RcodeSuccess, 1, false, dns.TypeCNAME},
		{"dangling.example.org.", dns.TypeA, dns.RcodeNameError, 1, true, dns.TypeCNAME},
		{"loop1.example.org.", dns.TypeA, dns.RcodeServerFailure, 0, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			resp := ask(t, srv, "udp", tc.name, tc.qtype)
			if resp.Rcode != tc.rcode {
				t.Fatalf("rcode = %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
			}
			if len(resp.Answer) != tc.answers {
				t.Fatalf("answers = %v, want %d", resp.Answer, tc.answers)
			}
			if tc.answers > 0 && resp.Answer[0].Header().Rrtype != tc.firstType {
				t.Errorf("first answer %v, want type %s", resp.Answer[0], dns.TypeToString[tc.firstType])
			}
			hasSOA := len(resp.Ns) == 1 && resp.Ns[0].Header().Rrtype == dns.TypeSOA
			if hasSOA != tc.wantSOA {
				t.Errorf("authority = %v, want SOA: %v", resp.Ns, tc.wantSOA)
			}
			if !resp.Authoritative {
				t.Error("AA bit not set")
			}
		})
	}
}

func TestNegativeAnswerSOAMinimum(t *testing.T) {
	srv := Start(t, testZone)
	srv.SetSOAMinimum(42)
	resp := ask(t, srv, "udp", "missing.example.org", dns.TypeTXT)
	soa, ok := resp.Ns[0].(*dns.SOA)
	if !ok || soa.Minttl != 42 || soa.Hdr.Ttl != 42 {
		t.Fatalf("authority = %v, want SOA with minimum 42", resp.Ns)
	}
	if soa.Hdr.Name != "example.org." {
		t.Errorf("synthetic SOA owner = %q", soa.Hdr.Name)
	}

	srv.Add("example.org. 3600 IN SOA ns.example.org. h.example.org. 7 3600 600 86400 17")
	resp = ask(t, srv, "udp", "missing.example.org", dns.TypeTXT)
	if soa := resp.Ns[0].(*dns.SOA); soa.Serial != 7 || soa.Minttl != 17 {
		t.Errorf("zone SOA not used: %v", soa)
	}
}

func TestFailSilenceRestore(t *testing.T) {
	srv := Start(t, testZone)
	srv.Fail("example.org", dns.RcodeServerFailure)
	if resp := ask(t, srv, "udp", "example.org", dns.TypeTXT); resp.Rcode != dns.RcodeServerFailure {
		t.Fatalf("rcode = %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
	srv.Restore("example.org")
	srv.Silence("example.org")
	m := new(dns.Msg).SetQuestion("example.org.", dns.TypeTXT)
	c := &dns.Client{Timeout: 150 * time.Millisecond}
	if _, _, err := c.Exchange(m, srv.Addr()); err == nil {
		t.Fatal("silenced name was answered")
	}
	srv.Restore("example.org")
	if resp := ask(t, srv, "udp", "example.org", dns.TypeTXT); len(resp.Answer) != 1 {
		t.Fatalf("after Restore: %v", resp)
	}
	if got := srv.QueryCount("EXAMPLE.org.", dns.TypeTXT); got != 3 {
		t.Errorf("QueryCount = %d, want 3", got)
	}
	if got := srv.TotalQueries(); got != 3 {
		t.Errorf("TotalQueries = %d, want 3", got)
	}
	srv.ResetCounts()
	if srv.TotalQueries() != 0 {
		t.Error("ResetCounts left a count")
	}
}

func TestTruncateOverUDPOnly(t *testing.T) {
	srv := Start(t, testZone)
	srv.Truncate("example.org.")
	udp := ask(t, srv, "udp", "example.org", dns.TypeTXT)
	if !udp.Truncated || len(udp.Answer) != 0 {
		t.Fatalf("UDP answer = %v, want empty with TC", udp)
	}
	tcp := ask(t, srv, "tcp", "example.org", dns.TypeTXT)
	if tcp.Truncated || len(tcp.Answer) != 1 {
		t.Fatalf("TCP answer = %v, want the record", tcp)
	}
}

func TestLargeAnswerTruncatedToBuffer(t *testing.T) {
	srv := Start(t, nil)
	var rrs []string
	for i := 0; i < 40; i++ {
		rrs = append(rrs, fmt.Sprintf(`big.test. 60 IN TXT "record %d padding padding padding padding padding"`, i))
	}
	srv.SetRecords("big.test", rrs...)
	if udp := ask(t, srv, "udp", "big.test", dns.TypeTXT); !udp.Truncated || len(udp.Answer) >= 40 {
		t.Fatalf("UDP: TC=%v with %d answers, want truncation", udp.Truncated, len(udp.Answer))
	}
	if tcp := ask(t, srv, "tcp", "big.test", dns.TypeTXT); tcp.Truncated || len(tcp.Answer) != 40 {
		t.Fatalf("TCP: TC=%v with %d answers, want all 40", tcp.Truncated, len(tcp.Answer))
	}
}

func TestSetRecordsAndAD(t *testing.T) {
	srv := Start(t, nil)
	if resp := ask(t, srv, "udp", "new.test", dns.TypeA); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("before: rcode %s", dns.RcodeToString[resp.Rcode])
	}
	srv.SetRecords("new.test", "@ 60 IN A 192.0.2.7", "new.test. 60 IN AAAA 2001:db8::7")
	srv.SetAD(true)
	resp := ask(t, srv, "udp", "NEW.test.", dns.TypeA)
	if len(resp.Answer) != 1 || resp.Answer[0].(*dns.A).A.String() != "192.0.2.7" {
		t.Fatalf("after SetRecords: %v", resp.Answer)
	}
	if !resp.AuthenticatedData {
		t.Error("AD bit not set after SetAD(true)")
	}
	srv.SetRecords("new.test")
	if resp := ask(t, srv, "udp", "new.test", dns.TypeA); resp.Rcode != dns.RcodeNameError {
		t.Errorf("after removal: rcode %s", dns.RcodeToString[resp.Rcode])
	}
}

func TestAddrIsLoopbackAndShared(t *testing.T) {
	srv := Start(t, nil)
	host, _, err := net.SplitHostPort(srv.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr = %q", srv.Addr())
	}
	ask(t, srv, "udp", "x.test", dns.TypeA)
	ask(t, srv, "tcp", "x.test", dns.TypeA)
	if got := srv.QueryCount("x.test", dns.TypeA); got != 2 {
		t.Errorf("QueryCount over UDP+TCP = %d, want 2", got)
	}
}

func TestSetDelay(t *testing.T) {
	srv := Start(t, testZone)
	srv.SetDelay(100 * time.Millisecond)
	start := time.Now()
	ask(t, srv, "udp", "example.org", dns.TypeTXT)
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("answer came after %v, want at least 100ms", took)
	}
}
