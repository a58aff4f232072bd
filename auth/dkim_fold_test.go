package auth

import (
	"strings"
	"testing"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// A header field folded over very many lines would cost the DKIM library
// time quadratic in their number; past maxFoldCost local policy declines
// to verify (dkim=policy), below it a long folded field verifies as usual.
func TestDKIMFoldedFieldCost(t *testing.T) {
	rsaKey, _ := testKeys()
	c, _ := newTestChecker(t, resolvertest.Zone{".": {txtRR("rsa._domainkey.a.example", keyRecord(t, rsaKey.Public()))}})
	withField := func(field string) string {
		return sign(t, strings.Replace(plainMessage, "Subject: hello\r\n", "Subject: hello\r\n"+field, 1), rsaKey, "a.example", "rsa")
	}

	// 1500 addresses, one per line: about 45 KB, well within the bound.
	var to strings.Builder
	to.WriteString("Cc: a0@c.example")
	for i := 1; i < 1500; i++ {
		to.WriteString(",\r\n\taddress" + strings.Repeat("x", 10) + "@c.example")
	}
	to.WriteString("\r\n")
	if outs := verify(t, c, withField(to.String())); len(outs) != 1 || outs[0].Result != policy.Pass {
		t.Errorf("a Cc: of 1500 folded lines: %+v, want pass", outs)
	}

	// 40000 lines of three bytes: joining them would copy about 4 GB.
	abuse := "X-Fold: a" + strings.Repeat("\r\n\tb", 40000) + "\r\n"
	outs := verify(t, c, withField(abuse))
	if len(outs) != 1 || outs[0].Result != policy.Policy || !strings.Contains(outs[0].Reason, "folded over too many lines") {
		t.Fatalf("a field of 40000 folded lines: %+v, want policy (declined)", outs)
	}
	if outs[0].Domain != "a.example" || outs[0].Selector != "rsa" {
		t.Errorf("the declined outcome lost its tags: %+v", outs[0])
	}
}
