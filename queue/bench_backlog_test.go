package queue

import (
	"net"
	"testing"
	"time"
)

// BenchmarkEnqueueBacklog: enqueueing with the downstream down, on an
// empty queue and behind a backlog of 300k deferred entries. The
// dispatcher wakes for each message; what it does on a wake (the queue
// gauges, the schedule) must not grow with the backlog.
func BenchmarkEnqueueBacklog(b *testing.B) {
	for _, backlog := range []int{0, 300000} {
		db, dir := openDB(b)
		if backlog > 0 {
			// Buckets first, then the entries, all due in an hour.
			newQueue(b, db, testConfig(dir))
			putEntriesAt(b, db, backlog, time.Now().Add(time.Hour))
		}
		cfg := testConfig(dir)
		cfg.RelayAddr = closedPort(b)
		q := newQueue(b, db, cfg)
		start(b, q)
		name := "backlog=0"
		if backlog > 0 {
			name = "backlog=300k"
		}
		b.Run(name, func(b *testing.B) { enqueueParallel(b, q) })
	}
}

// closedPort is a local address nobody listens on: deliveries fail fast.
func closedPort(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
