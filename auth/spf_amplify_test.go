package auth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// amplifyZone: amp.example lists ten mx terms, each naming a domain with
// ten MX hosts that have both A and AAAA records; none matches the client.
func amplifyZone() resolvertest.Zone {
	z := resolvertest.Zone{".": nil}
	var terms []string
	for i := 0; i < 10; i++ {
		d := fmt.Sprintf("m%d.amp.example", i)
		terms = append(terms, "mx:"+d)
		for j := 0; j < 10; j++ {
			h := fmt.Sprintf("h%d.%s", j, d)
			z["."] = append(z["."], fmt.Sprintf("%s. 300 IN MX %d %s.", d, j, h),
				h+". 300 IN A 198.51.100.9", h+". 300 IN AAAA 2001:db8::9")
		}
	}
	z["."] = append(z["."],
		txtRR("amp.example", "v=spf1 "+strings.Join(terms, " ")+" -all"),
		txtRR("ex6.example", "v=spf1 exists:x.ex6.example mx:m0.amp.example -all"),
		"x.ex6.example. 300 IN A 127.0.0.2",
		txtRR("mx6.example", "v=spf1 mx:m6.mx6.example -all"),
		"m6.mx6.example. 300 IN MX 10 h.m6.mx6.example.",
		"h.m6.mx6.example. 300 IN A 198.51.100.9",
		"h.m6.mx6.example. 300 IN AAAA 2001:db8::25",
	)
	return z
}

// RFC 7208 §4.6.4, §5.4: the MX hosts of an mx term are looked up in the
// client's address family only, and one check stays within the query
// budget (one record plus ten terms of eleven queries each).
func TestSPFMXLooksUpClientFamilyOnly(t *testing.T) {
	c, srv := newTestChecker(t, amplifyZone())
	out := c.SPF(context.Background(), net.ParseIP("192.0.2.1"), "h.example", "a@amp.example")
	if out.Result != policy.Fail {
		t.Fatalf("result %s (%s), want fail", out.Result, out.Err)
	}
	if n := srv.TotalQueries(); n > maxSPFQueries {
		t.Errorf("%d DNS queries for one check from an IPv4 client, want at most %d", n, maxSPFQueries)
	}
	if n := srv.QueryCount("h3.m4.amp.example", dns.TypeAAAA); n != 0 {
		t.Errorf("%d AAAA queries for an MX host, IPv4 client", n)
	}
}

// An IPv6 client matches on AAAA records, and exists still asks for A
// (RFC 7208 §5.7) when the client is IPv6.
func TestSPFIPv6ClientFamilies(t *testing.T) {
	c, srv := newTestChecker(t, amplifyZone())
	ctx := context.Background()
	if out := c.SPF(ctx, net.ParseIP("2001:db8::25"), "h.example", "a@mx6.example"); out.Result != policy.Pass {
		t.Fatalf("mx over AAAA: %s (%s), want pass", out.Result, out.Err)
	}
	if n := srv.QueryCount("h.m6.mx6.example", dns.TypeA); n != 0 {
		t.Errorf("%d A queries for an MX host, IPv6 client", n)
	}
	if out := c.SPF(ctx, net.ParseIP("2001:db8::77"), "h.example", "a@ex6.example"); out.Result != policy.Pass {
		t.Fatalf("exists from an IPv6 client: %s (%s), want pass", out.Result, out.Err)
	}
}

// A check that would exceed the query budget ends in permerror.
func TestSPFQueryBudget(t *testing.T) {
	c, _ := newTestChecker(t, amplifyZone())
	sr := &spfResolver{r: c.Resolver, ip: net.ParseIP("192.0.2.1"), budget: 5}
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := sr.LookupMX(ctx, "m1.amp.example"); err != nil {
			t.Fatalf("lookup %d within the budget: %v", i, err)
		}
	}
	if _, err := sr.LookupMX(ctx, "m1.amp.example"); err == nil {
		t.Fatal("lookup past the budget succeeded")
	}
	if sr.budgetErr == "" {
		t.Fatal("budget overrun not noted")
	}
}
