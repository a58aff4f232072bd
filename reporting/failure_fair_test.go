package reporting

import (
	"fmt"
	"testing"
)

// Hostile domains cannot spend the hourly failure-report budget that a
// legitimate domain's report needs: reports to destinations that never
// authorised them cost nothing, and one organisation gets only its share.
func TestFailureBudgetNotCrowdedOut(t *testing.T) {
	e := newFailureEnv(t, func(c *FailureConfig) { c.MaxPerHour = 3 })
	// Ten throw-away domains whose ruf= points at an unauthorised address.
	for i := 0; i < 10; i++ {
		d := fmt.Sprintf("a%d.test", i)
		e.arrive(failingEvent(d, "192.0.2.9", "v=DMARC1; p=reject; ruf=mailto:x@collector.test", bothFail, spfFail, nil))
	}
	// Ten subdomains of one organisation with valid addresses.
	for i := 0; i < 10; i++ {
		d := fmt.Sprintf("s%d.evil.test", i)
		ev := failingEvent(d, "192.0.2.9", fmt.Sprintf(rufRecord, d), bothFail, spfFail, nil)
		ev.Discovery.OrgDomain = "evil.test"
		e.arrive(ev)
	}
	e.arrive(failingEvent("sender.test", "192.0.2.1", fmt.Sprintf(rufRecord, "sender.test"), bothFail, spfFail, nil))
	e.sendFailures()
	got := map[string]bool{}
	for _, m := range e.sink.Messages() {
		got[m.To[0]] = true
	}
	if !got["ruf@sender.test"] {
		t.Fatalf("no report for sender.test; reports went to %v", got)
	}
	if len(got) > 3 {
		t.Errorf("%d reports in one hour, over max_per_hour = 3: %v", len(got), got)
	}
}
