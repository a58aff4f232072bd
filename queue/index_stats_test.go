package queue

import (
	"fmt"
	"testing"
	"time"
)

// The oldest unheld entry is tracked as entries come, go and are held.
func TestIndexStatsOldest(t *testing.T) {
	x := newIndex()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		x.track(&record{Message: Message{ID: fmt.Sprintf("e%d", i), Received: t0.Add(time.Duration(i) * time.Minute), NextAttempt: t0}})
	}
	check := func(what string, depth, held int, oldest time.Time) {
		t.Helper()
		s := x.stats()
		if s.Depth != depth || s.Held != held || !s.Oldest.Equal(oldest) {
			t.Fatalf("%s: %+v, want depth %d held %d oldest %v", what, s, depth, held, oldest)
		}
	}
	check("five entries", 5, 0, t0)
	x.setHeld("e0", true, t0)
	check("oldest held", 4, 1, t0.Add(time.Minute))
	x.forget("e1")
	check("next forgotten", 3, 1, t0.Add(2*time.Minute))
	x.setHeld("e0", false, t0)
	check("oldest released", 4, 0, t0)
	x.track(&record{Message: Message{ID: "e0", Received: t0, NextAttempt: t0.Add(time.Hour)}})
	check("oldest rescheduled", 4, 0, t0)
	for _, id := range []string{"e0", "e2", "e3", "e4"} {
		x.forget(id)
	}
	check("empty", 0, 0, time.Time{})
}

// stats costs no walk of the entries: the dispatcher asks for it on every
// wake, and with a backlog of 300k entries a walk each time took half the
// CPU. 200 calls must cost less than 20 walks.
func TestIndexStatsDoesNotWalk(t *testing.T) {
	x := newIndex()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300000; i++ {
		x.track(&record{Message: Message{ID: fmt.Sprintf("e%07d", i), Received: t0.Add(time.Duration(i) * time.Millisecond), NextAttempt: t0}})
	}
	start := time.Now()
	var oldest time.Time
	for i := 0; i < 20; i++ {
		for _, it := range x.items {
			if oldest.IsZero() || it.received.Before(oldest) {
				oldest = it.received
			}
		}
	}
	walks := time.Since(start)
	start = time.Now()
	for i := 0; i < 200; i++ {
		if s := x.stats(); !s.Oldest.Equal(oldest) {
			t.Fatalf("oldest %v, want %v", s.Oldest, oldest)
		}
	}
	if calls := time.Since(start); calls > walks {
		t.Fatalf("200 stats calls took %v, 20 walks of the entries %v: stats walks them", calls, walks)
	}
}
