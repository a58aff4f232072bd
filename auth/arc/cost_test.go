package arc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/resolver/resolvertest"
)

// chainOf seals plainMessage through hops in turn, each seal valid.
func chainOf(hops []hop) string {
	msg := plainMessage
	for i, h := range hops {
		cv := "pass"
		if i == 0 {
			cv = "none"
		}
		msg = h.addSet(msg, "dmarc=pass header.from=a.example", cv)
	}
	return msg
}

// TestChainCostIsBounded: 50 sets from 50 domains, forged or real, cost
// a bounded number of queries and little time; 51 cost none.
func TestChainCostIsBounded(t *testing.T) {
	var hops, forgers []hop
	zone := resolvertest.Zone{}
	for i := range MaxInstances {
		h := newHop(t, fmt.Sprintf("d%d.example", i), true)
		hops = append(hops, h)
		forgers = append(forgers, newHop(t, h.domain, true)) // same name, other key
		zone[h.domain+"."] = append(zone[h.domain+"."], h.record(t))
	}
	res, srv := newTestResolver(t, zone)
	v := &Verifier{Resolver: res}
	ctx := context.Background()

	tests := []struct {
		name       string
		msg        string
		maxQueries int
	}{
		{"50 forged sets", chainOf(forgers), 1},
		{"50 valid sets from 50 domains", chainOf(hops), DefaultMaxLookups},
		{"51 sets", forgers[0].addSet(chainOf(forgers), "dmarc=pass", "pass"), 0},
	}
	for _, tt := range tests {
		srv.ResetCounts()
		start := time.Now()
		r := v.Verify(ctx, []byte(tt.msg))
		took := time.Since(start)
		if r.Status != Fail {
			t.Errorf("%s: %s, want fail", tt.name, r.Status)
		}
		if q := srv.TotalQueries(); q > tt.maxQueries || r.Lookups > tt.maxQueries {
			t.Errorf("%s: %d queries, %d lookups, want at most %d", tt.name, q, r.Lookups, tt.maxQueries)
		}
		// Generous for -race on a loaded machine; a few ms without.
		if took > time.Second {
			t.Errorf("%s: took %v", tt.name, took)
		}
		t.Logf("%s: %v, %d queries (%s)", tt.name, took, srv.TotalQueries(), r.Reason)
	}
}

// TestManySetsOneSealer: a long chain of one sealer costs one lookup.
func TestManySetsOneSealer(t *testing.T) {
	h := newHop(t, "lists.example", true)
	hops := make([]hop, 20)
	for i := range hops {
		hops[i] = h
	}
	v, srv := serveHops(t, h)
	r := v.Verify(context.Background(), []byte(chainOf(hops)))
	if r.Status != Pass || srv.QueryCount(KeyName("ed", "lists.example")+".", dns.TypeTXT) != 1 {
		t.Fatalf("%+v, %d queries", r, srv.TotalQueries())
	}
}

func TestChainStructure(t *testing.T) {
	h := newHop(t, "lists.example", true)
	v, srv := serveHops(t, h)
	one := h.addSet(plainMessage, "dmarc=pass", "none")
	tests := []struct{ name, msg string }{
		{"cv=pass at i=1", strings.Replace(one, "cv=none", "cv=pass", 1)},
		{"no AAR", strings.Replace(one, "ARC-Authentication-Results:", "X-Old:", 1)},
		{"two seals", "ARC-Seal: i=1; a=ed25519-sha256; cv=none; d=x; s=y; b=AAAA\r\n" + one},
		{"i=0", strings.Replace(one, "i=1;", "i=0;", 3)},
		{"i=2 alone", strings.Replace(one, "i=1;", "i=2;", 3)},
		{"bad tag list", strings.Replace(one, "ARC-Seal: i=1;", "ARC-Seal: i=1;;", 1)},
	}
	for _, tt := range tests {
		srv.ResetCounts()
		if r := v.Verify(context.Background(), []byte(tt.msg)); r.Status != Fail {
			t.Errorf("%s: %+v", tt.name, r)
		}
		if q := srv.TotalQueries(); q != 0 {
			t.Errorf("%s: %d queries for a malformed chain", tt.name, q)
		}
	}
	if r := v.Verify(context.Background(), []byte(plainMessage)); r.Status != None {
		t.Errorf("no chain: %+v", r)
	}
}
