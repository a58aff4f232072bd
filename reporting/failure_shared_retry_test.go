package reporting_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"dmarcgate/cluster"
	"dmarcgate/internal/pgtest"
	"dmarcgate/reporting"
)

// lockedBuffer is a log sink the reporter's goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitUntil polls cond until it holds or d has passed.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSharedLimitsRetriedSoonAfterOutage: a report that waits because the
// cluster's shared limits are unreachable goes out within moments of
// their return, not at the next send interval (an hour here).
func TestSharedLimitsRetriedSoonAfterOutage(t *testing.T) {
	proxy, dsn := pgtest.StartProxy(t, pgtest.Database(t))
	cl := joinCluster(t, dsn)
	logs := &lockedBuffer{}
	e := reporting.NewFailureTestEnv(t, func(c *reporting.FailureConfig) {
		c.Shared = cl
		c.SendInterval = time.Hour
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	proxy.Down()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Reporter().Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	if !e.Fail("a.example", "192.0.2.2", "ruf@a.example") {
		t.Fatal("no report due")
	}
	waitUntil(t, 10*time.Second, "the reporter never found the shared limits unreachable", func() bool {
		return strings.Contains(logs.String(), "shared limits unavailable")
	})
	if n := e.Pending(); n != 1 {
		t.Fatalf("%d reports pending during the outage, want 1 waiting", n)
	}
	proxy.Up()
	up := time.Now()
	waitUntil(t, 10*time.Second, "the waiting report did not go out after the shared limits came back", func() bool {
		e.Deliver()
		return len(e.Delivered()) == 1
	})
	t.Logf("report delivered %v after the shared limits came back", time.Since(up).Round(time.Millisecond))
	if e.Pending() != 0 {
		t.Fatalf("%d reports still pending", e.Pending())
	}
}

// countingShared counts the charges asked of the shared limits.
type countingShared struct {
	*cluster.Cluster
	mu    sync.Mutex
	asked int
}

func (c *countingShared) AdmitFailure(ctx context.Context, fc reporting.FailureCharge) ([]string, error) {
	c.mu.Lock()
	c.asked++
	c.mu.Unlock()
	return c.Cluster.AdmitFailure(ctx, fc)
}

// TestSharedOutageAskedOncePerPass: while the shared limits are
// unreachable, one pass asks them once, whatever number of reports waits
// (each asking could cost a connect timeout).
func TestSharedOutageAskedOncePerPass(t *testing.T) {
	proxy, dsn := pgtest.StartProxy(t, pgtest.Database(t))
	cl := joinCluster(t, dsn)
	shared := &countingShared{Cluster: cl}
	e := reporting.NewFailureTestEnv(t, func(c *reporting.FailureConfig) { c.Shared = shared })
	for _, d := range []string{"a.example", "b.example", "c.example"} {
		if !e.Fail(d, "192.0.2.2", "ruf@"+d) {
			t.Fatal("no report due")
		}
	}
	proxy.Down()
	e.Send()
	if shared.asked != 1 || e.Pending() != 3 {
		t.Fatalf("one pass asked the unreachable shared limits %d times, %d reports wait; want 1 and 3", shared.asked, e.Pending())
	}
	proxy.Up()
	e.Send()
	if n := len(e.Delivered()); n != 3 || e.Pending() != 0 {
		t.Fatalf("%d reports delivered, %d pending once the shared limits are back; want 3 and 0", n, e.Pending())
	}
}
