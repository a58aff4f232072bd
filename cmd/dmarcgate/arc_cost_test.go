package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/auth/arc"
)

// TestARCLongChainsCostBounded: 50 sets from 50 sealers, valid or forged,
// on a message through the gateway: at most 10 key lookups, a verdict,
// no panic, and no set of ours past instance 50.
func TestARCLongChainsCostBounded(t *testing.T) {
	h := arcGateway(t)
	signed := h.newRSASigner("good.example", "s1").sign(t, message("a@good.example", "long chain"))
	valid, forged := signed, signed
	var names []string
	for i := range arc.MaxInstances {
		d := fmt.Sprintf("hop%d.example", i)
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		other := h.newEd25519Signer(d, "arc") // published; the forger signs with another key
		names = append(names, "arc._domainkey."+d+".")
		cv := arc.Pass
		if i == 0 {
			cv = arc.None
		}
		valid = seal(t, &arc.Sealer{Domain: d, Selector: "arc", Key: other.key}, valid, cv, "dmarc=pass header.from=good.example")
		forged = seal(t, &arc.Sealer{Domain: d, Selector: "arc", Key: key}, forged, cv, "dmarc=pass header.from=good.example")
	}
	for k, c := range []struct {
		name, msg  string
		maxLookups int
	}{{"50 forged sets", forged, 1}, {"50 valid sets from 50 domains", valid, 10}} {
		h.dns.ResetCounts()
		start := time.Now()
		if err := sendFrom(t, h.addr, "127.0.0.2", "a@good.example", []string{"bob@example.org"}, c.msg); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		took := time.Since(start)
		lookups := 0
		for _, n := range names {
			lookups += h.dns.QueryCount(n, dns.TypeTXT)
		}
		if lookups > c.maxLookups {
			t.Errorf("%s: %d key lookups, want at most %d", c.name, lookups, c.maxLookups)
		}
		msgs, err := h.sink.Wait(k+1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		data := string(msgs[k].Data)
		if n := strings.Count(data, "\nARC-Seal:"); n != arc.MaxInstances || !strings.Contains(data, "arc=fail") {
			t.Errorf("%s: %d seals delivered, want the 50 it came with and arc=fail", c.name, n)
		}
		t.Logf("%s: %d key lookups, %d queries in all, %v for the whole transaction", c.name, lookups, h.dns.TotalQueries(), took)
	}
}
