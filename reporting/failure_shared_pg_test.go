package reporting_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"dmarcgate/cluster"
	"dmarcgate/internal/pgtest"
	"dmarcgate/reporting"
)

// joinCluster is a cluster instance on a fresh PostgreSQL database.
func joinCluster(t *testing.T, dsn string) *cluster.Cluster {
	t.Helper()
	c, err := cluster.Open(cluster.Config{DSN: dsn, Instance: "mx1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSharedLimitsChargeOnlyWhatIsSent: a report to an unauthorised
// external address spends none of the cluster's hourly budget, so the
// next domain's report still goes out (README: "one to an unauthorised
// external address costs nothing", in a cluster too).
func TestSharedLimitsChargeOnlyWhatIsSent(t *testing.T) {
	cl := joinCluster(t, pgtest.Database(t))
	e := reporting.NewFailureTestEnv(t, func(c *reporting.FailureConfig) {
		c.MaxPerHour = 1
		c.Shared = cl
	})
	unauthorizedBefore := reporting.Outcome("unauthorized")
	// x.example's ruf= is outside its organisation and not authorised.
	if !e.Fail("x.example", "192.0.2.1", "ruf@elsewhere.example") || !e.Fail("a.example", "192.0.2.2", "ruf@a.example") {
		t.Fatal("no report due")
	}
	e.Send()
	if got := reporting.Outcome("unauthorized") - unauthorizedBefore; got != 1 {
		t.Fatalf("%v reports refused as unauthorized, want 1", got)
	}
	if got := e.Delivered(); !slices.Equal(got, []string{"ruf@a.example"}) {
		t.Fatalf("reports delivered to %v, want one to ruf@a.example: the unauthorised one took the shared budget", got)
	}
	if e.Pending() != 0 {
		t.Fatalf("%d reports still pending", e.Pending())
	}
}

// TestSharedChargeGivenBackWhenNotQueued: a report the shared limits
// admitted but this instance's own limits then refuse gives its shared
// charge back, the per-source one with it.
func TestSharedChargeGivenBackWhenNotQueued(t *testing.T) {
	cl := joinCluster(t, pgtest.Database(t))
	e := reporting.NewFailureTestEnv(t, func(c *reporting.FailureConfig) {
		c.MaxPerHour = 1
		c.Shared = cl
	})
	// The shared limits count a report in the hour it was recorded, the
	// local ones in the hour it is queued: b.example's report, recorded
	// at 10:59:30 and queued after 11:00, takes the local hour 11, which
	// a.example's then finds spent, after the shared limits admitted it
	// for hour 11 too.
	start := e.Now()
	e.Advance(time.Hour - 30*time.Second)
	if !e.Fail("b.example", "192.0.2.3", "ruf@b.example") {
		t.Fatal("no report due")
	}
	e.Advance(40 * time.Second)
	if !e.Fail("a.example", "192.0.2.2", "ruf@a.example") {
		t.Fatal("no report due")
	}
	e.Send()
	if got := e.Delivered(); !slices.Equal(got, []string{"ruf@b.example"}) {
		t.Fatalf("reports delivered to %v, want b.example's alone (the local hourly budget is 1)", got)
	}
	// a.example's source and hour 11 are free again in the shared limits.
	adm, err := cl.AdmitFailure(context.Background(), reporting.FailureCharge{
		Domain: "a.example", IP: "192.0.2.2", Dests: []string{"ruf@a.example"}, At: start.Add(time.Hour + 20*time.Second),
		PerSource: time.Hour, PerDestDay: 100, PerHour: 1, Source: true,
	})
	if err != nil || len(adm) != 1 {
		t.Fatalf("shared limits admit %v (%v) after the refused report, want its charge given back", adm, err)
	}
}
