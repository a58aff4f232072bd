package queue

import (
	"context"
	"net"
	"strings"
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
		body := []byte(origHeader + "\r\n" + strings.Repeat(strings.Repeat("b", 62)+"\r\n", 4096/64))
		name := "backlog=0"
		if backlog > 0 {
			name = "backlog=300k"
		}
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := q.NewBody()
					w.Write(body)
					m := &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}
					if _, err := q.Enqueue(context.Background(), m, w, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
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
