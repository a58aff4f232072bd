package auth

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

func spfZone() resolvertest.Zone {
	z := resolvertest.Zone{".": {
		txtRR("pass.example", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 -all"),
		txtRR("fail.example", "v=spf1 -all"),
		txtRR("soft.example", "v=spf1 ~all"),
		txtRR("neutral.example", "v=spf1 ?all"),
		txtRR("nospf.example", "google-site-verification=abc"),
		txtRR("syntax.example", "v=spf1 frobnicate:x ip4:192.0.2.1 -all"),
		txtRR("late-syntax.example", "v=spf1 ip4:192.0.2.1 -all moo"),
		txtRR("inc-syntax.example", "v=spf1 include:bad-cidr.example ip4:192.0.2.1 -all"),
		txtRR("bad-cidr.example", "v=spf1 ip4:198.51.100.0/33 -all"),
		txtRR("inc-unread.example", "v=spf1 ip4:192.0.2.1 include:bad-cidr.example -all"),
		txtRR("two.example", "v=spf1 -all"),
		txtRR("two.example", "v=spf1 +all"),
		txtRR("void.example", "v=spf1 a:v1.void.example a:v2.void.example a:v3.void.example -all"),
		txtRR("helo.example", "v=spf1 ip4:192.0.2.1 -all"),
		txtRR("servfail-inc.example", "v=spf1 include:servfail.example -all"),
		"mx.example. 300 IN MX 10 mail.mx.example.",
		"mail.mx.example. 300 IN A 192.0.2.1",
		txtRR("mx.example", "v=spf1 mx -all"),
	}}
	// Eleven mechanisms that each cost a DNS query: one more than
	// RFC 7208 §4.6.4 allows.
	var many []string
	for i := 1; i <= 11; i++ {
		name := fmt.Sprintf("h%d.many.example", i)
		z["."] = append(z["."], name+". 300 IN A 198.51.100.7")
		many = append(many, "a:"+name)
	}
	z["."] = append(z["."], txtRR("many.example", "v=spf1 "+strings.Join(many, " ")+" -all"))
	return z
}

// spfCheckCase is one check of spfZone and what it must give.
type spfCheckCase struct {
	name           string
	ip             net.IP
	helo, mailFrom string
	want           policy.Result
	domain, scope  string
	errHas         string
}

func spfCases() []spfCheckCase {
	ip := net.ParseIP("192.0.2.1")
	return []spfCheckCase{
		{"pass", ip, "h.example", "a@pass.example", policy.Pass, "pass.example", ScopeMailFrom, ""},
		{"pass ipv6", net.ParseIP("2001:db8::25"), "h.example", "a@pass.example", policy.Pass, "pass.example", ScopeMailFrom, ""},
		{"pass via mx", ip, "h.example", "a@mx.example", policy.Pass, "mx.example", ScopeMailFrom, ""},
		{"fail", ip, "h.example", "a@fail.example", policy.Fail, "fail.example", ScopeMailFrom, ""},
		{"fail other ip", net.ParseIP("192.0.2.99"), "h.example", "a@pass.example", policy.Fail, "pass.example", ScopeMailFrom, ""},
		{"softfail", ip, "h.example", "a@soft.example", policy.SoftFail, "soft.example", ScopeMailFrom, ""},
		{"neutral", ip, "h.example", "a@neutral.example", policy.Neutral, "neutral.example", ScopeMailFrom, ""},
		{"none no record", ip, "h.example", "a@nospf.example", policy.None, "nospf.example", ScopeMailFrom, ""},
		{"none nxdomain", ip, "h.example", "a@nowhere.example", policy.None, "nowhere.example", ScopeMailFrom, ""},
		{"temperror servfail", ip, "h.example", "a@servfail.example", policy.TempError, "servfail.example", ScopeMailFrom, "SERVFAIL"},
		{"temperror include servfail", ip, "h.example", "a@servfail-inc.example", policy.TempError, "servfail-inc.example", ScopeMailFrom, ""},
		{"temperror timeout", ip, "h.example", "a@silent.example", policy.TempError, "silent.example", ScopeMailFrom, ""},
		{"permerror syntax", ip, "h.example", "a@syntax.example", policy.PermError, "syntax.example", ScopeMailFrom, `bad term "frobnicate:x"`},
		{"permerror syntax after the match", ip, "h.example", "a@late-syntax.example", policy.PermError, "late-syntax.example", ScopeMailFrom, `late-syntax.example: bad term "moo"`},
		{"permerror syntax in include", ip, "h.example", "a@inc-syntax.example", policy.PermError, "inc-syntax.example", ScopeMailFrom, "bad-cidr.example: bad term"},
		{"include after the match unread", ip, "h.example", "a@inc-unread.example", policy.Pass, "inc-unread.example", ScopeMailFrom, ""},
		{"permerror two records", ip, "h.example", "a@two.example", policy.PermError, "two.example", ScopeMailFrom, "multiple"},
		{"permerror lookup limit", ip, "h.example", "a@many.example", policy.PermError, "many.example", ScopeMailFrom, "lookup limit"},
		{"permerror void lookups", ip, "h.example", "a@void.example", policy.PermError, "void.example", ScopeMailFrom, "void lookup"},
		{"null sender uses helo", ip, "helo.example", "", policy.Pass, "helo.example", ScopeHelo, ""},
		{"null sender brackets", ip, "helo.example", "<>", policy.Pass, "helo.example", ScopeHelo, ""},
		{"null sender helo fails", net.ParseIP("192.0.2.9"), "helo.example", "", policy.Fail, "helo.example", ScopeHelo, ""},
		{"helo address literal", ip, "[192.0.2.1]", "", policy.None, "[192.0.2.1]", ScopeHelo, "multi-label"},
		{"helo single label", ip, "localhost", "", policy.None, "localhost", ScopeHelo, "multi-label"},
		{"mail from case and dot", ip, "h.example", "A@PASS.Example.", policy.Pass, "pass.example", ScopeMailFrom, ""},
		{"quoted local part with at", ip, "h.example", `"x@y"@pass.example`, policy.Pass, "pass.example", ScopeMailFrom, ""},
		{"empty local part", ip, "h.example", "@pass.example", policy.Pass, "pass.example", ScopeMailFrom, ""},
		{"invalid ip", nil, "h.example", "a@pass.example", policy.PermError, "pass.example", ScopeMailFrom, "IP"},
	}
}

func TestSPF(t *testing.T) {
	c, srv := newTestChecker(t, spfZone())
	srv.Fail("servfail.example.", dns.RcodeServerFailure)
	srv.Silence("silent.example.")
	tests := spfCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.SPF(context.Background(), tt.ip, tt.helo, tt.mailFrom)
			if got.Result != tt.want || got.Domain != tt.domain || got.Scope != tt.scope {
				t.Fatalf("SPF = %+v, want %s for %s (%s)", got, tt.want, tt.domain, tt.scope)
			}
			if !strings.Contains(got.Err, tt.errHas) {
				t.Errorf("Err = %q, want it to mention %q", got.Err, tt.errHas)
			}
			if tt.want == policy.Pass && got.Err != "" {
				t.Errorf("pass with Err %q", got.Err)
			}
			p := got.ToPolicy()
			if p.Result != got.Result || p.Domain != got.Domain || p.Scope != got.Scope {
				t.Errorf("ToPolicy = %+v", p)
			}
		})
	}
}

func TestSPFContextCanceled(t *testing.T) {
	c, _ := newTestChecker(t, spfZone())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := c.SPF(ctx, net.ParseIP("192.0.2.1"), "h.example", "a@pass.example")
	if got.Result != policy.TempError {
		t.Fatalf("SPF with a canceled context = %+v, want temperror", got)
	}
}

func TestSPFIdentity(t *testing.T) {
	tests := []struct{ helo, from, local, domain, scope string }{
		{"h.example", "a@b.example", "a", "b.example", ScopeMailFrom},
		{"h.example", "", "postmaster", "h.example", ScopeHelo},
		{"h.example", "<>", "postmaster", "h.example", ScopeHelo},
		{" h.example ", "postmaster", "postmaster", "h.example", ScopeHelo},
		{"h.example", "<a@b.example>", "a", "b.example", ScopeMailFrom},
		{"h.example", `"a@b"@c.example`, `"a@b"`, "c.example", ScopeMailFrom},
		{"h.example", "a@", "postmaster", "h.example", ScopeHelo},
	}
	for _, tt := range tests {
		local, domain, scope := spfIdentity(tt.helo, tt.from)
		if local != tt.local || domain != tt.domain || scope != tt.scope {
			t.Errorf("spfIdentity(%q, %q) = %q %q %q, want %q %q %q",
				tt.helo, tt.from, local, domain, scope, tt.local, tt.domain, tt.scope)
		}
	}
}

// SPFCached answers only from the cache: on a cold cache it declines every
// check that needs DNS; once SPF has run, it gives SPF's very outcome for
// every check whose answers could be cached (failures to resolve are not).
func TestSPFCachedMatchesSPF(t *testing.T) {
	uncacheable := map[string]bool{"temperror servfail": true, "temperror include servfail": true, "temperror timeout": true}
	noDNS := map[string]bool{"helo address literal": true, "helo single label": true, "invalid ip": true}
	ctx := context.Background()
	for _, tt := range spfCases() {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newTestChecker(t, spfZone()) // a cold cache each
			srv.Fail("servfail.example.", dns.RcodeServerFailure)
			srv.Silence("silent.example.")
			cold, ok := c.SPFCached(ctx, tt.ip, tt.helo, tt.mailFrom)
			if ok != noDNS[tt.name] {
				t.Fatalf("cold cache: ok=%v (%+v)", ok, cold)
			}
			want := c.SPF(ctx, tt.ip, tt.helo, tt.mailFrom)
			got, ok := c.SPFCached(ctx, tt.ip, tt.helo, tt.mailFrom)
			if ok == uncacheable[tt.name] {
				t.Fatalf("after SPF: ok=%v (%+v)", ok, got)
			}
			if ok && !reflect.DeepEqual(got, want) {
				t.Errorf("SPFCached = %+v, SPF = %+v", got, want)
			}
		})
	}
}
