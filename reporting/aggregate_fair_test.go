package reporting

import (
	"testing"
)

// Throw-away domains cannot spend the per-period budget that a legitimate
// domain's report needs: reports that will not be sent (an external
// destination that never authorised them) cost nothing, and the budget is
// shared out across organisational domains, not taken in name order.
func TestPeriodBudgetFairAcrossOrgDomains(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxPerPeriod = 2 })
	// Three sorting before sender.test: external destinations not authorised.
	for _, d := range []string{"aaa.test", "aab.test", "aac.test"} {
		e.record(event(t, msg{ip: "192.0.2.9", from: d, record: "v=DMARC1; p=none; rua=mailto:x@collector.test"}))
	}
	// Three subdomains of one organisation, each with its own valid rua.
	for _, d := range []string{"a.evil.test", "b.evil.test", "c.evil.test"} {
		ev := event(t, msg{ip: "192.0.2.9", from: d, record: "v=DMARC1; p=none; rua=mailto:rua@evil.test"})
		ev.Discovery.OrgDomain = "evil.test"
		e.record(ev)
	}
	e.record(event(t, msg{ip: "192.0.2.1", from: "sender.test"}))
	e.send(true)
	got := byDomain(t, receivedReports(t, e.sink))
	if _, ok := got["sender.test"]; !ok {
		t.Fatalf("sender.test got no report; reports went to %v", keys(got))
	}
	if len(got) != 2 {
		t.Errorf("%d reports sent, want max_per_period = 2: %v", len(got), keys(got))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The budget still holds: past it, reports are capped without being built.
func TestPeriodBudgetCapsSentReports(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxPerPeriod = 2 })
	for _, d := range []string{"a.example", "b.example", "c.example"} {
		e.record(event(t, msg{ip: "192.0.2.1", from: d}))
	}
	sum := e.send(true)
	if sum.Generated != 2 || e.sink.Count() != 2 {
		t.Errorf("max_per_period = 2: %+v, %d sent", sum, e.sink.Count())
	}
}
