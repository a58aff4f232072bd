package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dmarcgate/config"
	"dmarcgate/internal/pgtest"
)

// TestClusterShipGraceBoundsTheWait: an instance that counts as live but
// never ships its rows (a straggler) holds the reports back for at most
// cluster.ship_grace: `reports send` still gets one report per domain out,
// with what the running instances recorded, soon after the grace.
func TestClusterShipGraceBoundsTheWait(t *testing.T) {
	const grace = 4 * time.Second
	dsn := pgtest.Database(t)
	s := newSite(t, dsn, 2, func(_ int, c *config.Config) { c.Cluster.ShipGrace = config.Duration{Duration: grace} })
	s.sendSpread(t, "good.example", 4)
	waitFor(t, 20*time.Second, "both instances live", func() bool {
		out, err := runCmd(t, s.nodes[1], "cluster", "status")
		return err == nil && strings.Count(out, " live ") == 2
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The straggler: seen just now, nothing closed.
	if _, err := conn.Exec(ctx, `INSERT INTO dg_instances (name, seen_at, closed_through) VALUES ('mx9', now(), 0)`); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out, err := runCmd(t, s.nodes[0], "reports", "send")
	took := time.Since(start)
	if err != nil || !strings.Contains(out, "period closed on every instance") {
		t.Fatalf("reports send: %v\n%s", err, out)
	}
	t.Logf("reports send took %v with ship_grace %v", took, grace)
	if took < grace-time.Second {
		t.Errorf("reports built after %v: the live straggler was not waited for (ship_grace %v)", took, grace)
	}
	if took > grace+10*time.Second {
		t.Errorf("reports send took %v, ship_grace is %v", took, grace)
	}
	s.waitReports(t, "good.example")
	if n := s.reportedCount(t, "good.example"); n != 4 {
		t.Errorf("good.example's report counts %d messages, want 4", n)
	}
}
