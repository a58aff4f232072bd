package auth

import (
	"strings"
	"testing"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// Headers that would cost the DKIM library time quadratic in their size
// (a field folded over very many lines; an h= of very many entries over
// very many fields) are declined by local policy (dkim=policy); below the
// bounds long fields and big headers verify as usual.
func TestDKIMCostlyHeaders(t *testing.T) {
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

	// 16000 lines of four bytes: joining them would copy about 500 MB.
	abuse := "X-Fold: a" + strings.Repeat("\r\n\tb", 16000) + "\r\n"
	outs := verify(t, c, withField(abuse))
	if len(outs) != 1 || outs[0].Result != policy.Policy || !strings.Contains(outs[0].Reason, "folded over too many lines") {
		t.Fatalf("a field of 16000 folded lines: %+v, want policy (declined)", outs)
	}
	if outs[0].Domain != "a.example" || outs[0].Selector != "rsa" {
		t.Errorf("the declined outcome lost its tags: %+v", outs[0])
	}

	// 300 fields under a signature of ordinary h=: verified.
	manyFields := strings.Repeat("X-Trace: hop\r\n", 300)
	if outs := verify(t, c, withField(manyFields)); len(outs) != 1 || outs[0].Result != policy.Pass {
		t.Errorf("300 header fields: %+v, want pass", outs)
	}
	// An h= of 3000 entries over 3000 fields: 9 million look-ups.
	picky := sign(t, strings.Replace(plainMessage, "Subject: hello\r\n", "Subject: hello\r\n"+strings.Repeat("X-A: b\r\n", 3000), 1), rsaKey, "a.example", "rsa")
	picky = strings.Replace(picky, " h=", " h="+strings.Repeat("x-none:", 3000), 1)
	outs = verify(t, c, picky)
	if len(outs) != 1 || outs[0].Result != policy.Policy || !strings.Contains(outs[0].Reason, "too many header fields") {
		t.Fatalf("an h= of 3000 entries over 3000 fields: %+v, want policy (declined)", outs)
	}
}
