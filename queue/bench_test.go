package queue

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
)

// BenchmarkEnqueue measures durable enqueueing of 4 KiB messages from
// concurrent sessions sharing the group commit.
func BenchmarkEnqueue(b *testing.B) {
	db, dir := openDB(b)
	q := newQueue(b, db, testConfig(dir))
	before := db.Commits()
	b.SetBytes(int64(len(benchBody)))
	enqueueParallel(b, q)
	b.ReportMetric(float64(b.N)/float64(max(db.Commits()-before, 1)), "msgs/commit")
}

// benchBody is a 4 KiB message as the enqueue benchmarks send it.
var benchBody = []byte(origHeader + "\r\n" + strings.Repeat(strings.Repeat("b", 62)+"\r\n", 4096/64))

// enqueueParallel enqueues benchBody b.N times from 8 goroutines per core:
// SMTP sessions outnumber cores, and share the group commit.
func enqueueParallel(b *testing.B, q *Queue) {
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := q.NewBody()
			w.Write(benchBody)
			m := &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}
			if _, err := q.Enqueue(context.Background(), m, w, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCRLFWriter: what BDAT content costs per MiB, for ordinary text
// and for the worst line ends (each byte of the message is looked at
// once, however its CRs and LFs are mixed).
func BenchmarkCRLFWriter(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"text", strings.Repeat("x", 76) + "\r\n"}, {"crlf", "x\r\n"}, {"bare-lf", "x\n"}, {"bare-cr", "x\r"},
	} {
		msg := []byte(strings.Repeat(tc.line, 1<<20/len(tc.line)))
		b.Run(tc.name, func(b *testing.B) {
			bw := bufio.NewWriterSize(io.Discard, 64<<10)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				var size canonicalSize
				size.Write(msg)
				cw := &crlfWriter{w: bw}
				cw.Write(msg)
				cw.close()
			}
		})
	}
}
