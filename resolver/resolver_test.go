package resolver

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/resolver/resolvertest"
)

var zone = resolvertest.Zone{
	"example.org.": {
		`@ 300 IN TXT "v=spf1 " "ip4:192.0.2.0/24 " "-all"`,
		`@ 300 IN TXT "google-site-verification=x"`,
		"@ 300 IN MX 20 mx2.example.org.",
		"@ 300 IN MX 10 mx1.example.org.",
		"@ 300 IN MX 30 mx3.example.org.",
	},
	"_dmarc.example.org.":     {`@ 60 IN TXT "v=DMARC1; p=reject"`},
	"alias.example.org.":      {"@ 30 IN CNAME _dmarc.example.org."},
	"v4.example.org.":         {"@ 300 IN A 192.0.2.1"},
	"v6.example.org.":         {"@ 300 IN AAAA 2001:db8::1"},
	"dual.example.org.":       {"@ 300 IN A 192.0.2.2", "@ 300 IN AAAA 2001:db8::2"},
	"1.2.0.192.in-addr.arpa.": {"@ 300 IN PTR mail.example.org."},
}

func TestLookupTXTConcatenatesStrings(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	txts, err := c.LookupTXT(context.Background(), "Example.ORG")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v=spf1 ip4:192.0.2.0/24 -all", "google-site-verification=x"}
	if !reflect.DeepEqual(txts, want) {
		t.Errorf("LookupTXT = %q, want %q", txts, want)
	}
}

func TestCacheHit(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	ctx := context.Background()
	first, err := c.Query(ctx, "_dmarc.example.org", dns.TypeTXT)
	if err != nil || first.FromCache {
		t.Fatalf("first query: %+v, %v", first, err)
	}
	second, err := c.Query(ctx, "_DMARC.Example.Org.", dns.TypeTXT)
	if err != nil || !second.FromCache {
		t.Fatalf("second query: %+v, %v", second, err)
	}
	if got := srv.QueryCount("_dmarc.example.org", dns.TypeTXT); got != 1 {
		t.Errorf("server saw %d queries, want 1", got)
	}
	if s := c.Stats(); s.CacheHits != 1 || s.CacheMisses != 1 || s.QueriesSent != 1 {
		t.Errorf("stats = %+v", s)
	}
	if first.TTL != time.Minute || second.TTL != time.Minute {
		t.Errorf("TTLs = %v, %v, want 1m (clock did not move)", first.TTL, second.TTL)
	}
}

func TestPositiveTTL(t *testing.T) {
	tests := []struct {
		name        string
		recordTTL   string
		cfg         Config
		stillCached time.Duration
		expired     time.Duration
	}{
		{"record TTL", "60", Config{}, 59 * time.Second, 60 * time.Second},
		{"clamped to MaxTTL", "86400", Config{MaxTTL: 10 * time.Minute}, 9 * time.Minute, 10 * time.Minute},
		{"raised to MinTTL", "1", Config{MinTTL: 30 * time.Second}, 29 * time.Second, 30 * time.Second},
		{"default MaxTTL 1h", "604800", Config{}, 59 * time.Minute, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := resolvertest.Start(t, resolvertest.Zone{"t.test.": {"t.test. " + tc.recordTTL + " IN TXT x"}})
			c, clock := newTestClient(t, tc.cfg, srv)
			ctx := context.Background()
			mustTXT(t, c, "t.test")
			clock.Advance(tc.stillCached)
			ans, err := c.Query(ctx, "t.test", dns.TypeTXT)
			if err != nil || !ans.FromCache || ans.TTL != tc.expired-tc.stillCached {
				t.Fatalf("after %v: %+v, %v", tc.stillCached, ans, err)
			}
			clock.Advance(tc.expired - tc.stillCached)
			mustTXT(t, c, "t.test")
			if got := srv.QueryCount("t.test", dns.TypeTXT); got != 2 {
				t.Errorf("server saw %d queries, want 2 (expired entry asked again)", got)
			}
		})
	}
}

func mustTXT(t *testing.T, c *Client, name string) []string {
	t.Helper()
	txts, err := c.LookupTXT(context.Background(), name)
	if err != nil {
		t.Fatalf("LookupTXT(%s): %v", name, err)
	}
	return txts
}

func TestNegativeCache(t *testing.T) {
	tests := []struct {
		name       string
		qname      string
		soaMinimum uint32
		cfg        Config
		sentinel   error
		lifetime   time.Duration
	}{
		{"NXDOMAIN by SOA minimum", "missing.example.org", 120, Config{}, ErrNXDomain, 120 * time.Second},
		{"NODATA by SOA minimum", "v4.example.org", 45, Config{}, ErrNoData, 45 * time.Second},
		{"empty non-terminal", "in-addr.arpa", 45, Config{}, ErrNoData, 45 * time.Second},
		{"capped by NegativeTTL", "missing.example.org", 86400, Config{NegativeTTL: 10 * time.Minute}, ErrNXDomain, 10 * time.Minute},
		{"default cap 15m", "missing.example.org", 86400, Config{}, ErrNXDomain, 15 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := resolvertest.Start(t, zone)
			srv.SetSOAMinimum(tc.soaMinimum)
			c, clock := newTestClient(t, tc.cfg, srv)
			ctx := context.Background()
			ans, err := c.Query(ctx, tc.qname, dns.TypeTXT)
			if !errors.Is(err, tc.sentinel) || ans == nil || ans.TTL != tc.lifetime {
				t.Fatalf("first: %+v, %v", ans, err)
			}
			clock.Advance(tc.lifetime - time.Second)
			ans, err = c.Query(ctx, tc.qname, dns.TypeTXT)
			if !errors.Is(err, tc.sentinel) || !ans.FromCache || ans.TTL != time.Second {
				t.Fatalf("cached: %+v, %v", ans, err)
			}
			if got := srv.QueryCount(tc.qname, dns.TypeTXT); got != 1 {
				t.Fatalf("server saw %d queries while cached, want 1", got)
			}
			clock.Advance(time.Second)
			if _, err := c.Query(ctx, tc.qname, dns.TypeTXT); !errors.Is(err, tc.sentinel) {
				t.Fatalf("after expiry: %v", err)
			}
			if got := srv.QueryCount(tc.qname, dns.TypeTXT); got != 2 {
				t.Errorf("server saw %d queries after expiry, want 2", got)
			}
		})
	}
}

func TestNegativeTTLWithoutSOA(t *testing.T) {
	c, _ := newTestClient(t, Config{Servers: []string{"127.0.0.1:1"}})
	resp := new(dns.Msg)
	resp.SetQuestion("x.test.", dns.TypeTXT)
	resp.Rcode = dns.RcodeNameError
	if got := c.negativeTTL(resp); got != 5*time.Minute {
		t.Errorf("no SOA: %v, want 5m", got)
	}
	soa, _ := dns.NewRR("test. 30 IN SOA ns.test. h.test. 1 2 3 4 900")
	resp.Ns = []dns.RR{soa}
	if got := c.negativeTTL(resp); got != 30*time.Second {
		t.Errorf("SOA TTL below MINIMUM: %v, want 30s (RFC 2308 §5)", got)
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name                           string
		setup                          func(*resolvertest.Server)
		qname                          string
		sentinel                       error
		notFound, nxdomain, temporary  bool
		flagNotFound, flagTemp, flagTO bool
	}{
		{"NXDOMAIN", nil, "missing.example.org", ErrNXDomain, true, true, false, true, false, false},
		{"NODATA", nil, "v6.example.org", ErrNoData, true, false, false, true, false, false},
		{"SERVFAIL", func(s *resolvertest.Server) { s.Fail("x.test", dns.RcodeServerFailure) }, "x.test", ErrTemporary, false, false, true, false, true, false},
		{"REFUSED", func(s *resolvertest.Server) { s.Fail("x.test", dns.RcodeRefused) }, "x.test", ErrTemporary, false, false, true, false, true, false},
		{"FORMERR", func(s *resolvertest.Server) { s.Fail("x.test", dns.RcodeFormatError) }, "x.test", ErrPermanent, false, false, false, false, false, false},
		{"NOTIMP", func(s *resolvertest.Server) { s.Fail("x.test", dns.RcodeNotImplemented) }, "x.test", ErrPermanent, false, false, false, false, false, false},
		{"timeout", func(s *resolvertest.Server) { s.Silence("x.test") }, "x.test", ErrTemporary, false, false, true, false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := resolvertest.Start(t, zone)
			if tc.setup != nil {
				tc.setup(srv)
			}
			c, _ := newTestClient(t, Config{}, srv)
			_, err := c.LookupTXT(context.Background(), tc.qname)
			de, ok := err.(*net.DNSError) // a direct assertion, as blitiri spf does
			if !ok {
				t.Fatalf("error %T %v is not a *net.DNSError", err, err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if IsNotFound(err) != tc.notFound || IsNXDomain(err) != tc.nxdomain || IsTemporary(err) != tc.temporary {
				t.Errorf("IsNotFound/IsNXDomain/IsTemporary = %v/%v/%v", IsNotFound(err), IsNXDomain(err), IsTemporary(err))
			}
			if de.IsNotFound != tc.flagNotFound || de.IsTemporary != tc.flagTemp || de.IsTimeout != tc.flagTO {
				t.Errorf("flags NotFound/Temporary/Timeout = %v/%v/%v", de.IsNotFound, de.IsTemporary, de.IsTimeout)
			}
			if de.Name != tc.qname || de.Server != srv.Addr() {
				t.Errorf("Name/Server = %q/%q", de.Name, de.Server)
			}
		})
	}
}

func TestTemporaryFailuresNotCached(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	srv.Fail("example.org", dns.RcodeServerFailure)
	c, _ := newTestClient(t, Config{}, srv)
	for i := 0; i < 2; i++ {
		if _, err := c.LookupTXT(context.Background(), "example.org"); !IsTemporary(err) {
			t.Fatalf("try %d: %v, want temporary", i, err)
		}
	}
	srv.Restore("example.org")
	mustTXT(t, c, "example.org")
	if got := srv.QueryCount("example.org", dns.TypeTXT); got != 3 {
		t.Errorf("server saw %d queries, want 3 (failures not cached)", got)
	}
}

func TestFallbackToNextServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break1 func(*resolvertest.Server)
	}{
		{"silent", func(s *resolvertest.Server) { s.Silence("example.org") }},
		{"SERVFAIL", func(s *resolvertest.Server) { s.Fail("example.org", dns.RcodeServerFailure) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := resolvertest.Start(t, zone)
			second := resolvertest.Start(t, zone)
			tc.break1(first)
			c, _ := newTestClient(t, Config{}, first, second)
			if got := mustTXT(t, c, "example.org"); len(got) != 2 {
				t.Fatalf("LookupTXT = %q", got)
			}
			if a, b := first.QueryCount("example.org", dns.TypeTXT), second.QueryCount("example.org", dns.TypeTXT); a != 1 || b != 1 {
				t.Errorf("queries per server = %d, %d; want 1, 1", a, b)
			}
		})
	}
}

func TestUnreachableServerFallsBack(t *testing.T) {
	// A closed UDP port answers ICMP port unreachable: a network error.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{Servers: []string{closed}}, srv)
	mustTXT(t, c, "example.org")
}

func TestTruncatedAnswerRetriedOverTCP(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	srv.Truncate("example.org")
	c, _ := newTestClient(t, Config{}, srv)
	if got := mustTXT(t, c, "example.org"); len(got) != 2 {
		t.Fatalf("LookupTXT = %q", got)
	}
	if got := srv.QueryCount("example.org", dns.TypeTXT); got != 2 {
		t.Errorf("server saw %d queries, want 2 (UDP then TCP)", got)
	}
	if s := c.Stats(); s.QueriesSent != 2 {
		t.Errorf("QueriesSent = %d, want 2", s.QueriesSent)
	}
}

func TestConcurrentQueriesMerged(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	srv.SetDelay(100 * time.Millisecond)
	c, _ := newTestClient(t, Config{Timeout: 2 * time.Second}, srv)
	const n = 50
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			<-start
			txts, err := c.LookupTXT(context.Background(), "_dmarc.example.org")
			if err == nil && (len(txts) != 1 || txts[0] != "v=DMARC1; p=reject") {
				err = errors.New("wrong answer")
			}
			errs <- err
		}()
	}
	close(start)
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := srv.QueryCount("_dmarc.example.org", dns.TypeTXT); got != 1 {
		t.Errorf("server saw %d queries, want 1", got)
	}
	s := c.Stats()
	if s.Merged == 0 || s.Merged+s.CacheHits != n-1 {
		t.Errorf("stats = %+v, want %d merged or cached", s, n-1)
	}
}

func TestCacheSizeBoundEvicts(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{CacheSize: 2}, srv)
	for _, name := range []string{"example.org", "_dmarc.example.org", "alias.example.org"} {
		mustTXT(t, c, name)
	}
	if s := c.Stats(); s.CacheEntries != 2 || s.Evictions != 1 {
		t.Fatalf("stats = %+v, want 2 entries and 1 eviction", s)
	}
	mustTXT(t, c, "example.org")       // least recently used: evicted, asked again
	mustTXT(t, c, "alias.example.org") // most recent: still cached
	if got := srv.QueryCount("example.org", dns.TypeTXT); got != 2 {
		t.Errorf("evicted name asked %d times, want 2", got)
	}
	if got := srv.QueryCount("alias.example.org", dns.TypeTXT); got != 1 {
		t.Errorf("cached name asked %d times, want 1", got)
	}
}

func TestCNAMEFollowed(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	ans, err := c.Query(context.Background(), "alias.example.org", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.RRs) != 1 || ans.RRs[0].(*dns.TXT).Txt[0] != "v=DMARC1; p=reject" {
		t.Fatalf("RRs = %v", ans.RRs)
	}
	if ans.TTL != 30*time.Second {
		t.Errorf("TTL = %v, want 30s (the CNAME's, the smallest in the chain)", ans.TTL)
	}
}

func TestADBitSurfaced(t *testing.T) {
	for _, ad := range []bool{false, true} {
		srv := resolvertest.Start(t, zone)
		srv.SetAD(ad)
		c, _ := newTestClient(t, Config{}, srv)
		txts, authentic, err := c.LookupTXTAuthentic(context.Background(), "_dmarc.example.org")
		if err != nil || len(txts) != 1 || authentic != ad {
			t.Errorf("SetAD(%v): %q, %v, %v", ad, txts, authentic, err)
		}
		_, authentic, err = c.LookupTXTAuthentic(context.Background(), "missing.example.org")
		if !IsNXDomain(err) || authentic != ad {
			t.Errorf("SetAD(%v) NXDOMAIN: authentic %v, %v", ad, authentic, err)
		}
	}
}

func TestLookupMXSorted(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	mxs, err := c.LookupMX(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mx := range mxs {
		got = append(got, mx.Host)
	}
	want := []string{"mx1.example.org.", "mx2.example.org.", "mx3.example.org."}
	if !reflect.DeepEqual(got, want) || mxs[0].Pref != 10 {
		t.Errorf("LookupMX = %v, want %v", got, want)
	}
}

func TestLookupIPAddr(t *testing.T) {
	tests := []struct {
		host     string
		want     []string
		sentinel error
	}{
		{"v4.example.org", []string{"192.0.2.1"}, nil},
		{"v6.example.org", []string{"2001:db8::1"}, nil},
		{"dual.example.org", []string{"192.0.2.2", "2001:db8::2"}, nil},
		{"missing.example.org", nil, ErrNXDomain},
		{"example.org", nil, ErrNoData},
		{"192.0.2.99", []string{"192.0.2.99"}, nil},
		{"2001:db8::99", []string{"2001:db8::99"}, nil},
	}
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	for _, tc := range tests {
		addrs, err := c.LookupIPAddr(context.Background(), tc.host)
		if tc.sentinel != nil {
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("%s: err = %v, want %v", tc.host, err, tc.sentinel)
			}
			continue
		}
		var got []string
		for _, a := range addrs {
			got = append(got, a.IP.String())
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.host, got, err, tc.want)
		}
	}
	if got := srv.QueryCount("192.0.2.99", dns.TypeA); got != 0 {
		t.Errorf("IP literal was looked up %d times", got)
	}
}

func TestLookupIPAddrTemporaryWins(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	srv.Fail("v4.example.org", dns.RcodeServerFailure)
	c, _ := newTestClient(t, Config{}, srv)
	if _, err := c.LookupIPAddr(context.Background(), "v4.example.org"); !IsTemporary(err) {
		t.Errorf("err = %v, want temporary", err)
	}
}

func TestLookupAddr(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	names, err := c.LookupAddr(context.Background(), "192.0.2.1")
	if err != nil || !reflect.DeepEqual(names, []string{"mail.example.org."}) {
		t.Fatalf("LookupAddr = %v, %v", names, err)
	}
	_, err = c.LookupAddr(context.Background(), "2001:db8::1")
	var de *net.DNSError
	if !errors.As(err, &de) || !IsNXDomain(err) || de.Name != "2001:db8::1" {
		t.Errorf("unknown IPv6: %v", err)
	}
	if _, err := c.LookupAddr(context.Background(), "not-an-ip"); !errors.Is(err, ErrPermanent) {
		t.Errorf("bad address: %v, want ErrPermanent", err)
	}
	if srv.TotalQueries() != 2 {
		t.Errorf("server saw %d queries, want 2", srv.TotalQueries())
	}
}

func TestContextDeadlineBoundsLookup(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	srv.Silence("example.org")
	c, _ := newTestClient(t, Config{Timeout: 5 * time.Second}, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTXT(ctx, "example.org")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("lookup took %v with a 100ms deadline", took)
	}
	de, ok := err.(*net.DNSError)
	if !ok || !de.IsTimeout || !IsTemporary(err) {
		t.Errorf("err = %v, want a temporary timeout", err)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if _, err := c.LookupTXT(cancelled, "example.org"); !IsTemporary(err) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestInvalidNameRejected(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	long := make([]byte, 64)
	for i := range long {
		long[i] = 'a'
	}
	for _, name := range []string{"", string(long) + ".test", "a..b"} {
		if _, err := c.LookupTXT(context.Background(), name); !errors.Is(err, ErrPermanent) {
			t.Errorf("LookupTXT(%q) = %v, want ErrPermanent", name, err)
		}
	}
	if srv.TotalQueries() != 0 {
		t.Errorf("invalid names reached the server %d times", srv.TotalQueries())
	}
}

// Under CacheOnly a question the cache cannot answer fails at once as
// temporary, sends nothing and is counted neither way; cached answers,
// negative ones included, come back as usual.
func TestCacheOnlyNeverQueries(t *testing.T) {
	srv := resolvertest.Start(t, zone)
	c, _ := newTestClient(t, Config{}, srv)
	cacheCtx, missed := CacheOnly(context.Background())
	_, err := c.Query(cacheCtx, "_dmarc.example.org", dns.TypeTXT)
	if !errors.Is(err, ErrTemporary) || !missed.Load() {
		t.Fatalf("uncached question: %v, missed=%v; want a temporary error and missed", err, missed.Load())
	}
	if got := srv.QueryCount("_dmarc.example.org", dns.TypeTXT); got != 0 {
		t.Fatalf("server saw %d queries under CacheOnly", got)
	}
	if s := c.Stats(); s.CacheHits != 0 || s.CacheMisses != 0 || s.QueriesSent != 0 {
		t.Errorf("stats after a cache-only miss = %+v", s)
	}

	// Fill the cache, a positive and a negative answer.
	ctx := context.Background()
	if _, err := c.Query(ctx, "_dmarc.example.org", dns.TypeTXT); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(ctx, "missing.example.org", dns.TypeTXT); !errors.Is(err, ErrNXDomain) {
		t.Fatal(err)
	}
	cacheCtx, missed = CacheOnly(ctx)
	ans, err := c.Query(cacheCtx, "_DMARC.example.org", dns.TypeTXT)
	if err != nil || !ans.FromCache || len(ans.RRs) != 1 {
		t.Fatalf("cached answer under CacheOnly: %+v, %v", ans, err)
	}
	if _, err := c.Query(cacheCtx, "missing.example.org", dns.TypeTXT); !errors.Is(err, ErrNXDomain) {
		t.Fatalf("cached NXDOMAIN under CacheOnly: %v", err)
	}
	if missed.Load() {
		t.Error("missed set although both answers were cached")
	}
	if got := srv.QueryCount("_dmarc.example.org", dns.TypeTXT); got != 1 {
		t.Errorf("server saw %d queries, want the one that filled the cache", got)
	}
}
