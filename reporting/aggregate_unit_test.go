package reporting

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"dmarcgate/policy"
	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

func TestPeriodMath(t *testing.T) {
	day := 24 * time.Hour
	noon := day0.Add(12 * time.Hour)
	tests := []struct {
		name     string
		got      int64
		expected int64
	}{
		{"24h starts at UTC midnight", alignedStart(noon, day), day0.Unix()},
		{"exactly at a boundary", alignedStart(day0, day), day0.Unix()},
		{"1h periods", alignedStart(noon.Add(30*time.Minute), time.Hour), noon.Unix()},
		{"aligned end", alignedEnd(day0.Unix(), day), day0.Unix() + 86400},
		{"end of a period closed early", alignedEnd(noon.Unix(), day), day0.Unix() + 86400},
		{"inclusive end of a full day", periodEnd(day0.Unix(), 0, day), day0.Unix() + 86399},
		{"inclusive end when cut early", periodEnd(day0.Unix(), noon.Unix(), day), noon.Unix() - 1},
		{"cut after the period is ignored", periodEnd(day0.Unix(), day0.Unix()+2*86400, day), day0.Unix() + 86399},
		{"open period follows the cut", openPeriod(noon.Add(time.Minute), day, noon.Unix()), noon.Unix()},
		{"a new day starts a new period", openPeriod(day0.Add(day+time.Minute), day, noon.Unix()), day0.Unix() + 86400},
	}
	for _, tc := range tests {
		if tc.got != tc.expected {
			t.Errorf("%s: got %d, want %d", tc.name, tc.got, tc.expected)
		}
	}
}

func TestNextWake(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name         string
		now          time.Time
		delay, retry time.Duration
		want         time.Duration
	}{
		{"retry bounds long waits", day0.Add(time.Hour), time.Minute, 15 * time.Minute, 15 * time.Minute},
		{"period end plus delay", day0.Add(day - 2*time.Minute), time.Minute, time.Hour, 3 * time.Minute},
		{"inside the delay after a boundary", day0.Add(30 * time.Second), time.Minute, time.Hour, 30 * time.Second},
		{"never zero", day0.Add(day - time.Nanosecond), 0, time.Hour, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := nextWake(tc.now, day, tc.delay, tc.retry); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRowFor(t *testing.T) {
	reject := policy.ActionReject
	tests := []struct {
		name  string
		ev    Event
		check func(r rowIdentity) bool
	}{
		{"pass under an enforcing policy", Event{Decision: policy.Decision{Result: policy.Pass, PolicyInForce: reject, Disposition: policy.ActionNone, DKIMAligned: true}},
			func(r rowIdentity) bool {
				return r.Disposition == "pass" && r.DKIMAligned == "pass" && r.SPFAligned == "fail"
			}},
		{"pass under p=none", Event{Decision: policy.Decision{Result: policy.Pass, PolicyInForce: policy.ActionNone, Disposition: policy.ActionNone}},
			func(r rowIdentity) bool { return r.Disposition == "none" }},
		{"quarantine", Event{Decision: policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionQuarantine, Disposition: policy.ActionQuarantine}},
			func(r rowIdentity) bool { return r.Disposition == "quarantine" }},
		{"unknown disposition", Event{Decision: policy.Decision{Disposition: "bogus"}},
			func(r rowIdentity) bool { return r.Disposition == "none" }},
		{"helo scope has no scope element", Event{SPF: policy.SPFResult{Domain: "Helo.Example.", Scope: "helo", Result: policy.SoftFail}},
			func(r rowIdentity) bool {
				return r.SPF.Scope == "" && r.SPF.Domain == "helo.example" && r.SPF.Result == "softfail"
			}},
		{"unknown results are mapped", Event{SPF: policy.SPFResult{Result: "hardfail"}, DKIM: []policy.DKIMResult{{Domain: "d", Selector: "s", Result: "softfail"}}},
			func(r rowIdentity) bool { return r.SPF.Result == "none" && r.DKIM[0].Result == "permerror" }},
		{"sampled_out becomes other", Event{Decision: policy.Decision{Reasons: []policy.Reason{{Type: policy.ReasonSampledOut, Comment: "pct=50"}}}},
			func(r rowIdentity) bool {
				return r.Reasons[0].Type == "other" && r.Reasons[0].Comment == "sampled_out: pct=50"
			}},
		{"test mode kept", Event{Decision: policy.Decision{Reasons: []policy.Reason{{Type: policy.ReasonPolicyTestMode}}}},
			func(r rowIdentity) bool { return r.Reasons[0].Type == "policy_test_mode" }},
		{"control characters removed", Event{HeaderFrom: "a\r\n.example", DKIM: []policy.DKIMResult{{Domain: "x", Selector: "s\x00el", Result: policy.Pass}}},
			func(r rowIdentity) bool { return r.HeaderFrom == "a.example" && r.DKIM[0].Selector == "sel" }},
		{"IPv4-mapped address", Event{SourceIP: net.ParseIP("::ffff:192.0.2.5")},
			func(r rowIdentity) bool { return r.SourceIP == "192.0.2.5" }},
		{"null sender", Event{EnvelopeFrom: "", EnvelopeTo: []string{"U@Dest.Example", "v@other.example"}},
			func(r rowIdentity) bool { return r.EnvelopeFrom == "" && r.EnvelopeTo == "dest.example" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rowFor(&tc.ev)
			if !tc.check(r) {
				t.Errorf("row %+v", r)
			}
		})
	}
}

func TestRowKeyGroupsEqualRows(t *testing.T) {
	a := rowFor(&Event{SourceIP: net.ParseIP("192.0.2.1"), HeaderFrom: "a.example"})
	b := rowFor(&Event{SourceIP: net.ParseIP("192.0.2.1"), HeaderFrom: "A.example."})
	c := rowFor(&Event{SourceIP: net.ParseIP("192.0.2.2"), HeaderFrom: "a.example"})
	ka, _ := a.encode()
	kb, _ := b.encode()
	kc, _ := c.encode()
	if ka != kb || ka == kc {
		t.Errorf("keys: equal rows %v, different rows %v", ka == kb, ka == kc)
	}
}

func TestMailtoDestinations(t *testing.T) {
	uris := []policy.URI{
		{Raw: "mailto:a@X.example", Scheme: "mailto", Address: "a@X.example"},
		{Raw: "mailto:A@x.example.", Scheme: "mailto", Address: "A@x.example."},
		{Raw: "https://r.example/", Scheme: "https"},
		{Raw: "mailto:b@y.example", Scheme: "mailto", Address: "b@y.example"},
		{Raw: "mailto:bad", Scheme: "mailto", Address: "bad"},
		{Raw: "mailto:c<d>@y.example", Scheme: "mailto", Address: "c<d>@y.example"},
	}
	mailto, ignored := MailtoDestinations(uris)
	if strings.Join(mailto, " ") != "a@x.example b@y.example" {
		t.Errorf("mailto = %v", mailto)
	}
	if len(ignored) != 1 || ignored[0] != "https://r.example/" {
		t.Errorf("ignored = %v", ignored)
	}
}

func TestAuthorizes(t *testing.T) {
	tests := []struct {
		txts []string
		want bool
	}{
		{[]string{"v=DMARC1"}, true},
		{[]string{"v=DMARC1;"}, true},
		{[]string{"v = DMARC1; rua=mailto:x@y"}, true},
		{[]string{"spf", "v=DMARC1"}, true},
		{[]string{"v=DMARC2"}, false},
		{[]string{"p=none; v=DMARC1"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := authorizes(tc.txts); got != tc.want {
			t.Errorf("authorizes(%q) = %v", tc.txts, got)
		}
	}
}

func TestCheckDestination(t *testing.T) {
	srv := resolvertest.Start(t, resolvertest.Zone{"v.example.": {
		`a.example._report._dmarc.v.example. 300 IN TXT "v=DMARC1"`,
		`b.example._report._dmarc.v.example. 300 IN TXT "v=spf1 -all"`,
	}})
	srv.Fail("a.example._report._dmarc.flaky.example.", 2)
	res, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Timeout: 300 * time.Millisecond, MaxTTL: time.Nanosecond, NegativeTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock(day0)
	a := newAuthorizer(res, clock.Now)
	ctx := context.Background()
	tests := []struct {
		policyDomain, org, addr string
		want                    DestVerdict
	}{
		{"a.example", "a.example", "r@a.example", DestAllowed},
		{"sub.a.example", "a.example", "r@mail.a.example", DestAllowed},
		{"sub.a.example", "", "r@a.example", DestAllowed}, // org from the PSL
		{"a.example", "a.example", "r@v.example", DestAllowed},
		{"b.example", "b.example", "r@v.example", DestUnauthorized},
		{"a.example", "a.example", "r@nothing.example", DestUnauthorized},
		{"a.example", "a.example", "r@flaky.example", DestRetry},
		{"a.example", "a.example", "no-domain", DestUnauthorized},
		{"a.example", "a.example", "r@a.example.evil.example", DestUnauthorized},
	}
	for _, tc := range tests {
		if got := a.check(ctx, tc.policyDomain, tc.org, tc.addr); got != tc.want {
			t.Errorf("check(%s, %s, %s) = %v, want %v", tc.policyDomain, tc.org, tc.addr, got, tc.want)
		}
	}
	// Definite answers are cached; a temporary failure is not.
	before := srv.QueryCount("a.example._report._dmarc.v.example.", 16)
	a.check(ctx, "a.example", "a.example", "r@v.example")
	if srv.QueryCount("a.example._report._dmarc.v.example.", 16) != before {
		t.Error("authorization not cached")
	}
	srv.Restore("a.example._report._dmarc.flaky.example.")
	srv.Add(`a.example._report._dmarc.flaky.example. 300 IN TXT "v=DMARC1"`)
	if got := a.check(ctx, "a.example", "a.example", "r@flaky.example"); got != DestAllowed {
		t.Errorf("after the failure cleared: %v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Enabled: true, OrgName: "O", Email: "r@o.example", Hostname: "mx.o.example"}
	tests := []struct {
		name  string
		tweak func(*Config)
	}{
		{"no email", func(c *Config) { c.Email = "" }},
		{"bad email", func(c *Config) { c.Email = "not an address" }},
		{"no org", func(c *Config) { c.OrgName = "" }},
		{"no hostname", func(c *Config) { c.Hostname = "" }},
		{"partial dkim", func(c *Config) { c.DKIMDomain = "o.example" }},
		{"negative", func(c *Config) { c.DropAfter = -time.Second }},
		{"tiny interval", func(c *Config) { c.Interval = time.Millisecond }},
	}
	for _, tc := range tests {
		c := ok
		tc.tweak(&c)
		if err := c.setDefaults(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	c := ok
	if err := c.setDefaults(); err != nil || c.Interval != DefaultInterval || c.MaxPerPeriod != DefaultMaxPerPeriod {
		t.Errorf("defaults: %v %+v", err, c)
	}
	if _, err := New(nil, nil, nil, ok); err == nil {
		t.Error("New without parts: no error")
	}
}
