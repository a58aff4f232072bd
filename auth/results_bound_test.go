package auth

import (
	"fmt"
	"strings"
	"testing"

	"dmarcgate/policy"
)

// 300 DKIM signatures (5 verified, as the checker caps them, 2 passing)
// give a header of a few KB: every passing signature is listed, the rest
// summed up in a comment, and the field still parses.
func TestResultsHeaderBoundsDKIM(t *testing.T) {
	var sigs []DKIMOutcome
	for i := 0; i < 300; i++ {
		o := DKIMOutcome{Domain: fmt.Sprintf("signer-%03d.some-long-domain-name.example", i), Selector: "selector2026",
			Algorithm: "rsa-sha256", HeaderB: fmt.Sprintf("b%07d", i), Result: policy.PermError, Reason: "signature not verified"}
		switch {
		case i == 3 || i == 250:
			o.Result, o.Reason = policy.Pass, ""
		case i < 5:
			o.Result, o.Reason = policy.Fail, "signature did not verify"
		}
		sigs = append(sigs, o)
	}
	r := Results{AuthservID: "mx.example.org", DKIM: sigs,
		SPF:   SPFOutcome{Result: policy.Pass, Domain: "a.example", Scope: ScopeMailFrom},
		DMARC: policy.Decision{Result: policy.Pass}, FromDomain: "a.example"}
	h := r.Header()
	if len(h) > 4096 {
		t.Fatalf("header of %d bytes for 300 signatures, want at most 4096", len(h))
	}
	for _, want := range []string{"header.d=signer-003.", "header.d=signer-250.", "dmarc=pass", "spf=pass",
		"header.d=signer-004.", "(292 more DKIM signatures not listed: 292 permerror)"} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	value := strings.TrimPrefix(strings.TrimSuffix(h, "\r\n"), "Authentication-Results: ")
	if _, methods, err := ParseAuthResults(value); err != nil || len(methods) < 3 {
		t.Fatalf("our header does not parse: %v (%d results)", err, len(methods))
	}
}
