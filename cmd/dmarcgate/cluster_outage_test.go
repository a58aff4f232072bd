package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dmarcgate/internal/pgtest"
)

// load sends passing good.example messages from workers clients, round
// robin over the site's nodes, until stop closes; it returns every
// message's latency to its final reply, and fails the test on any reply
// but 250.
func (s *site) load(t *testing.T, workers int, stop <-chan struct{}) func() []time.Duration {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h := s.nodes[(w+i)%len(s.nodes)]
				start := time.Now()
				err := sendTo(h.addr, "client.test", "a@good.example", []string{"bob@example.org"},
					message("a@good.example", fmt.Sprint("load ", w, " ", i)))
				d := time.Since(start)
				if err != nil {
					t.Errorf("%s answered %v under load", h.cfg.Cluster.Instance, err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	return func() []time.Duration {
		wg.Wait()
		return lat
	}
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// runLoad runs the load for d and returns its latencies.
func (s *site) runLoad(t *testing.T, d time.Duration) []time.Duration {
	stop := make(chan struct{})
	wait := s.load(t, 4, stop)
	time.Sleep(d)
	close(stop)
	return wait()
}

// PostgreSQL away under load: every instance keeps answering 250 about
// as fast, and once it is back the reports count every message. The
// outage lasts 6s, or DMARCGATE_TEST_OUTAGE (e.g. "1m").
func TestClusterTakesMailWhilePostgresIsDown(t *testing.T) {
	outage := 6 * time.Second
	if v := os.Getenv("DMARCGATE_TEST_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("DMARCGATE_TEST_OUTAGE: %v", err)
		}
		outage = d
	}
	proxy, dsn := pgtest.StartProxy(t, pgtest.Database(t))
	s := newSite(t, dsn, 3, nil)
	up := s.runLoad(t, 3*time.Second)
	proxy.Down()
	down := s.runLoad(t, outage)
	proxy.Up()
	total := len(up) + len(down)
	t.Logf("PostgreSQL up: %d messages, p99 %v; down: %d messages, p99 %v", len(up), p99(up), len(down), p99(down))
	if len(down) == 0 || p99(down) > 2*p99(up)+100*time.Millisecond {
		t.Errorf("with PostgreSQL down: %d messages, p99 %v; up: p99 %v (want within 2x)", len(down), p99(down), p99(up))
	}
	waitFor(t, 30*time.Second, "every instance back on PostgreSQL", func() bool {
		return strings.Count(s.logs(), "PostgreSQL reachable again") >= len(s.nodes)
	})
	if _, err := runCmd(t, s.nodes[0], "reports", "send"); err != nil {
		t.Fatal(err)
	}
	s.waitReports(t, "good.example")
	if n := s.reportedCount(t, "good.example"); n != int64(total) {
		t.Errorf("the report counts %d messages, want every one of the %d accepted", n, total)
	}
}
