package main

import (
	"strings"
	"testing"

	"dmarcgate/auth/arc"
	"dmarcgate/config"
)

// TestARCFailInOurAuthResults: a chain that no longer validates shows as
// arc=fail in the Authentication-Results we relay (RFC 8617 §10.1).
func TestARCFailInOurAuthResults(t *testing.T) {
	h := arcGateway(t)
	post := seal(t, listHop(t, h), message("a@none.example", "p=none"), arc.None, "dmarc=pass header.from=none.example")
	post = strings.Replace(post, "Hello there.", "Hello there, changed.", 1)
	if err := sendFrom(t, h.addr, "127.0.0.7", "team-bounces@lists.example", []string{"bob@example.org"}, post); err != nil {
		t.Fatal(err)
	}
	added := delivered(t, h, post)
	mustContain(t, authResults(t, added), "arc=fail", "dmarc=fail (p=none dis=none)")
}

// TestARCVerifyOff: with arc.verify = false, no chain is judged: our
// Authentication-Results has no arc= and a sealed message is relayed
// as it came.
func TestARCVerifyOff(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.ARC.Verify = false })
	h.dns.SetRecords("lists.example.", `lists.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	post := seal(t, listHop(t, h), message("a@none.example", "p=none"), arc.None, "dmarc=pass header.from=none.example")
	if err := sendFrom(t, h.addr, "127.0.0.7", "team-bounces@lists.example", []string{"bob@example.org"}, post); err != nil {
		t.Fatal(err)
	}
	added := delivered(t, h, post)
	ar := authResults(t, added)
	if strings.Contains(ar, " arc=") {
		t.Errorf("arc.verify = false, yet: %s", ar)
	}
	mustContain(t, ar, "dmarc=fail (p=none dis=none)")
}
