package cluster

import (
	"context"
	"testing"
	"time"

	"dmarcgate/internal/pgtest"
	"dmarcgate/reporting"
)

// TestReleaseFailureGivesBackOnlyItsCharge: a released charge frees the
// hour, the address's day and the source; a release never frees a
// source charged by a later report.
func TestReleaseFailureGivesBackOnlyItsCharge(t *testing.T) {
	c := open(t, pgtest.Database(t), "a")
	ctx := context.Background()
	at := time.Now().Add(-time.Minute)
	ch := func(domain, ip string, at time.Time) reporting.FailureCharge {
		return reporting.FailureCharge{Domain: domain, IP: ip, Dests: []string{"ruf@" + domain}, At: at,
			PerSource: 10 * time.Second, PerDestDay: 1, PerHour: 1, Source: true}
	}
	admitted := func(fc reporting.FailureCharge) bool {
		t.Helper()
		adm, err := c.AdmitFailure(ctx, fc)
		if err != nil {
			t.Fatal(err)
		}
		return len(adm) == 1
	}
	first := ch("a.example", "192.0.2.1", at)
	if !admitted(first) || admitted(ch("b.example", "192.0.2.2", at)) {
		t.Fatal("the hourly budget of 1 did not hold")
	}
	if err := c.ReleaseFailure(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Hour, day and source are free again: the same report is admitted.
	if !admitted(first) {
		t.Fatal("the released charge was not given back")
	}
	// A later report from that source (after PerSource) holds the source;
	// giving back the first report's charge must not free it.
	later := ch("a.example", "192.0.2.1", at.Add(20*time.Second))
	later.Dests, later.PerHour, later.PerDestDay = []string{"other@a.example"}, 5, 5
	if !admitted(later) {
		t.Fatal("a report after PerSource was refused")
	}
	if err := c.ReleaseFailure(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := later
	again.At, again.Dests = at.Add(25*time.Second), []string{"third@a.example"}
	if admitted(again) {
		t.Fatal("releasing an older report freed the per-source charge of a later one")
	}
}
