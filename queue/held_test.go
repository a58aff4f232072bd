package queue

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"dmarcgate/smtpsink"
)

// Held quarantine waits for a person, not for a retry: it is neither
// counted in the queue's depth nor in its oldest age.
func TestHeldIsNotQueue(t *testing.T) {
	db, dir := openDB(t)
	clock := newClock()
	cfg := testConfig(dir)
	cfg.RelayAddr = "127.0.0.1:1"
	cfg.Now = clock.Now
	q := newQueue(t, db, cfg)
	enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"},
		Held: true, HoldReason: "dmarc quarantine"}, origBody)
	clock.Add(time.Hour)
	enqueue(t, q, &Message{Route: RouteRelay, From: "c@sender.test", To: []string{"d@example.test"}}, origBody)
	s := q.Stats()
	if s.Depth != 1 || s.Held != 1 || !s.Oldest.Equal(clock.Now()) {
		t.Errorf("Stats = %+v, want depth 1, held 1, oldest the queued entry's arrival %v", s, clock.Now())
	}
	q.updateGauges()
	if d, h := gaugeValue(queueDepth), gaugeValue(quarantineHeld); d != 1 || h != 1 {
		t.Errorf("gauges: depth %v held %v, want 1 and 1", d, h)
	}
	if age := gaugeValue(queueOldestAge); age != 0 {
		t.Errorf("oldest age %v, want 0 (the held hour-old entry does not count)", age)
	}
}

func TestExpireHeld(t *testing.T) {
	db, dir := openDB(t)
	clock := newClock()
	cfg := testConfig(dir)
	cfg.Now = clock.Now
	q := newQueue(t, db, cfg)
	old := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"},
		Received: clock.Now(), Held: true, HoldReason: "dmarc quarantine"}, bigBody(memoryLimit+1))
	queued := enqueue(t, q, &Message{Route: RouteRelay, From: "c@sender.test", To: []string{"d@example.test"},
		Received: clock.Now()}, origBody)
	clock.Add(48 * time.Hour)
	young := enqueue(t, q, &Message{Route: RouteRelay, From: "e@sender.test", To: []string{"f@example.test"},
		Received: clock.Now(), Held: true, HoldReason: "dmarc quarantine"}, origBody)
	spool := q.spoolPath(old)
	if _, err := os.Stat(spool); err != nil {
		t.Fatalf("the large held body is not spooled: %v", err)
	}
	gone, err := q.ExpireHeld(context.Background(), clock.Now().Add(-24*time.Hour))
	if err != nil || len(gone) != 1 || gone[0].ID != old || gone[0].From != "a@sender.test" {
		t.Fatalf("ExpireHeld = %+v, %v; want only %s", gone, err, old)
	}
	if _, err := q.Get(old); !errors.Is(err, ErrNotFound) {
		t.Errorf("the expired entry is still stored: %v", err)
	}
	if _, err := os.Stat(spool); !os.IsNotExist(err) {
		t.Errorf("the expired entry's spool file is left: %v", err)
	}
	for _, id := range []string{queued, young} {
		if _, err := q.Get(id); err != nil {
			t.Errorf("%s was removed: %v", id, err)
		}
	}
	if s := q.Stats(); s.Held != 1 || s.Depth != 1 {
		t.Errorf("Stats after expiry = %+v, want 1 held, 1 queued", s)
	}
	if gone, err := q.ExpireHeld(context.Background(), clock.Now().Add(-24*time.Hour)); err != nil || len(gone) != 0 {
		t.Errorf("second ExpireHeld = %v, %v; want nothing", gone, err)
	}
}

// FlushAndWait returns once its attempts and the workers' are over, so
// the queue it leaves is what they left, whether the downstream is down
// or back.
func TestFlushAndWaitReportsWhatIsLeft(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	relay.Close()
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	q := newQueue(t, db, cfg)
	start(t, q)
	const n = 5
	ids := make([]string, n)
	for i := range ids {
		ids[i] = enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
	}
	held := enqueue(t, q, &Message{Route: RouteRelay, From: "h@sender.test", To: []string{"b@example.test"},
		Held: true, HoldReason: "dmarc quarantine"}, origBody)
	waitFor(t, 10*time.Second, "a failed attempt of each", func() bool {
		for _, id := range ids {
			if m, err := q.Get(id); err != nil || m.Attempts != 1 {
				return false
			}
		}
		return true
	})
	if err := q.index.waitIdle(context.Background(), ids); err != nil { // the claims end after the commits
		t.Fatal(err)
	}
	flushed, err := q.FlushAndWait(context.Background())
	if err != nil || flushed != n {
		t.Fatalf("FlushAndWait = %d, %v; want %d", flushed, err, n)
	}
	for _, id := range ids {
		if m, err := q.Get(id); err != nil || m.Attempts != 2 {
			t.Fatalf("%s after a flush with the downstream down: %+v %v, want a second attempt recorded", id, m, err)
		}
	}
	if err := relay.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.FlushAndWait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := q.Stats(); s.Depth != 0 || s.Held != 1 {
		t.Errorf("right after FlushAndWait with the downstream up: %+v, want an empty queue and the held entry", s)
	}
	if got := relay.Count(); got != n {
		t.Errorf("relay got %d messages, want %d (and not the held one)", got, n)
	}
	if m, err := q.Get(held); err != nil || !m.Held || m.Attempts != 0 {
		t.Errorf("held entry after flushes: %+v %v", m, err)
	}
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		return -1
	}
	return m.GetGauge().GetValue()
}
