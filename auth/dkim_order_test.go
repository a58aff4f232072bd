package auth

import (
	"fmt"
	"testing"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// The author's signature is the oldest, so the lowest in the header; six
// list/forwarder signatures on top must not crowd it out of the five that
// are verified.
func TestDKIMAuthorSignatureVerifiedBeyondTheCap(t *testing.T) {
	_, edKey := testKeys()
	zone := resolvertest.Zone{}
	zone["."] = append(zone["."], txtRR("author._domainkey.a.example", keyRecord(t, edKey.Public())))
	msg := sign(t, plainMessage, edKey, "a.example", "author")
	for i := 1; i <= 6; i++ {
		d := fmt.Sprintf("list%d.example", i)
		zone["."] = append(zone["."], txtRR("s._domainkey."+d, keyRecord(t, edKey.Public())))
		msg = sign(t, msg, edKey, d, "s")
	}
	c, _ := newTestChecker(t, zone)
	outs := verify(t, c, msg)
	if len(outs) != 7 {
		t.Fatalf("got %d outcomes, want 7", len(outs))
	}
	author := outs[6]
	if author.Domain != "a.example" || author.Result != policy.Pass {
		t.Fatalf("author signature: %s %s %q, want a.example pass", author.Domain, author.Result, author.Reason)
	}
	checked, skipped := 0, 0
	for _, o := range outs[:6] {
		switch o.Result {
		case policy.Pass:
			checked++
		case policy.Policy:
			skipped++
		default:
			t.Errorf("%s: %s %q", o.Domain, o.Result, o.Reason)
		}
	}
	if checked != DefaultMaxSignatures-1 || skipped != 2 {
		t.Errorf("list signatures: %d checked, %d skipped; want %d and 2", checked, skipped, DefaultMaxSignatures-1)
	}
}
