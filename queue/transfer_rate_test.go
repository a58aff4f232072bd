package queue

import (
	"strings"
	"testing"
	"time"
)

// A server that takes the message in a trickle cannot hold a delivery
// longer than a data block's timeout plus the size at the minimum rate.
func TestMinimumTransferRate(t *testing.T) {
	db, dir := openDB(t)
	ln := startSlowSMTP(t, slowSMTP{DataRate: 640 << 10})
	cfg := testConfig(dir)
	cfg.RelayAddr = ln.Addr().String()
	cfg.CommandTimeout = 3 * time.Second
	cfg.MinTransferRate = 8 << 20
	q := newQueue(t, db, cfg)
	start(t, q)
	body := origHeader + "\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", (16<<20)/80)
	begin := time.Now()
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, body)
	waitFor(t, 10*time.Second, "the attempt to end", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts > 0
	})
	// 3s data block + 16 MiB at 8 MiB/s = 5s, against ~25s at the server's pace.
	if took := time.Since(begin); took > 7*time.Second {
		t.Errorf("attempt took %s", took)
	}
	if m, _ := q.Get(id); !strings.Contains(m.LastError, "timed out") {
		t.Errorf("last error %q does not say it timed out", m.LastError)
	}
}
