package queue

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkEnqueue measures durable enqueueing of 4 KiB messages from
// concurrent sessions sharing the group commit.
func BenchmarkEnqueue(b *testing.B) {
	db, dir := openDB(b)
	q := newQueue(b, db, testConfig(dir))
	body := []byte(origHeader + "\r\n" + strings.Repeat(strings.Repeat("b", 62)+"\r\n", 4096/64))
	before := db.Commits()
	b.SetBytes(int64(len(body)))
	b.SetParallelism(8) // SMTP sessions outnumber cores
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
	b.ReportMetric(float64(b.N)/float64(max(db.Commits()-before, 1)), "msgs/commit")
}
