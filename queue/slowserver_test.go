package queue

import (
	"strings"
	"testing"
	"time"
)

// A server that takes almost a stage's timeout for every reply cannot
// hold a delivery past the transaction's deadline.
func TestTransactionHasOneDeadline(t *testing.T) {
	db, dir := openDB(t)
	ln := startSlowSMTP(t, slowSMTP{ReplyDelay: 700 * time.Millisecond})
	cfg := testConfig(dir)
	cfg.RelayAddr = ln.Addr().String()
	cfg.CommandTimeout = time.Second
	cfg.TransactionTimeout = 2 * time.Second
	q := newQueue(t, db, cfg)
	start(t, q)
	begin := time.Now()
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
	waitFor(t, 6*time.Second, "the attempt to end", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts > 0
	})
	if took := time.Since(begin); took > 3500*time.Millisecond {
		t.Errorf("attempt took %s with a 2s transaction deadline", took)
	}
	m, _ := q.Get(id)
	if !strings.Contains(m.LastError, "timed out") {
		t.Errorf("last error %q does not say it timed out", m.LastError)
	}
}
