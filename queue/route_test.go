package queue

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// outboundSetup serves a zone naming 127.0.0.1 as the mail host of the
// test domains, with the sink's port as the outbound port.
func outboundSetup(t *testing.T) (*Queue, *smtpsink.Sink) {
	t.Helper()
	dns := resolvertest.Start(t, resolvertest.Zone{
		"mx.test.": {
			"dest.test. 300 IN MX 10 mail.dest.test.",
			"dest.test. 300 IN MX 20 backup.dest.test.",
			"mail.dest.test. 300 IN A 127.0.0.1",
			"backup.dest.test. 300 IN A 127.0.0.1",
			"implicit.test. 300 IN A 127.0.0.1",
			"nullmx.test. 300 IN MX 0 .",
			"nohost.test. 300 IN TXT \"no mail here\"",
			"fallback.test. 300 IN MX 10 dead.fallback.test.",
			"fallback.test. 300 IN MX 20 live.fallback.test.",
			"dead.fallback.test. 300 IN A 127.0.0.2",
			"live.fallback.test. 300 IN A 127.0.0.1",
		},
	})
	res, err := resolver.New(resolver.Config{Servers: []string{dns.Addr()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sink := smtpsink.Start(t, smtpsink.Options{})
	_, port, _ := net.SplitHostPort(sink.Addr())
	db, dir := openDB(t)
	cfg := testConfig(dir)
	cfg.Resolver = res
	cfg.OutboundPort, _ = strconv.Atoi(port)
	return newQueue(t, db, cfg), sink
}

func TestOutboundOneTransactionPerDomain(t *testing.T) {
	q, sink := outboundSetup(t)
	start(t, q)
	enqueue(t, q, &Message{Route: RouteOutbound, Kind: KindReport, From: "reports@mx.test",
		To: []string{"a@dest.test", "b@implicit.test", "c@DEST.test"}}, origBody)
	got, err := sink.Wait(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, m := range got {
		groups = append(groups, strings.Join(m.To, ","))
	}
	slices.Sort(groups)
	if strings.Join(groups, " | ") != "a@dest.test,c@DEST.test | b@implicit.test" {
		t.Fatalf("transactions %q, want one per domain", groups)
	}
	waitEmpty(t, q)
}

func TestOutboundPermanentDNSFailuresBounce(t *testing.T) {
	q, _ := outboundSetup(t)
	for _, tc := range []struct {
		domain, status string
	}{
		{"nullmx.test", "5.1.10"},
		{"nxdomain.test", "5.1.2"},
		{"nohost.test", "5.1.2"},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			rec := &record{Message: Message{Route: RouteOutbound, To: []string{"x@" + tc.domain}}}
			ts := q.targets(context.Background(), rec)
			if len(ts) != 1 || ts[0].err == nil {
				t.Fatalf("targets %+v, want a failure", ts)
			}
			r := failure("x@"+tc.domain, ts[0].err)
			if !r.perm || dsnStatus(r.err) != tc.status {
				t.Fatalf("got perm=%v status %s (%v), want permanent %s", r.perm, dsnStatus(r.err), r.err, tc.status)
			}
		})
	}
}

func TestMXOrderByPreference(t *testing.T) {
	q, _ := outboundSetup(t)
	hosts, implicit, err := q.mxHosts(context.Background(), "dest.test")
	if err != nil || implicit {
		t.Fatal(err, implicit)
	}
	if strings.Join(hosts, ",") != "mail.dest.test.,backup.dest.test." {
		t.Fatalf("hosts %v, want by preference", hosts)
	}
}

func TestOutboundFallsBackToNextMX(t *testing.T) {
	q, sink := outboundSetup(t)
	start(t, q)
	enqueue(t, q, &Message{Route: RouteOutbound, From: "a@mx.test", To: []string{"b@fallback.test"}}, origBody)
	got, err := sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].To[0] != "b@fallback.test" {
		t.Fatalf("delivered to %v", got[0].To)
	}
	waitEmpty(t, q)
}
