package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		live, scaled, floor uint64
		want                int
	}{
		{5 * mib, 8 * mib, 32 * mib, 337},   // goal 5 + 8 × 3.37 = 32 MiB
		{0, 4 * mib, 32 * mib, 800},         // before the first collection
		{20 * mib, 24 * mib, 32 * mib, 100}, // would be 50: never below the default
		{40 * mib, 45 * mib, 32 * mib, 100}, // past the floor: the default
		{1, 1, 32 * mib, 1 << 20},           // almost nothing alive: capped
		{0, 0, 32 * mib, 1 << 20},           // no figures yet
		{mib, 2 * mib, 32 * mib, 1550},      // goal 1 + 2 × 15.5 = 32 MiB
		{32 * mib, 33 * mib, 32 * mib, 100}, // exactly at the floor
		{31 * mib, 32 * mib, 32 * mib, 100}, // 3: never below the default
		{2 * mib, 3 * mib, 32 * mib, 1000},  // goal 2 + 3 × 10 = 32 MiB
	}
	for _, c := range cases {
		if got := gcPercentFor(c.live, c.scaled, c.floor); got != c.want {
			t.Errorf("gcPercentFor(%d, %d, %d) = %d, want %d", c.live, c.scaled, c.floor, got, c.want)
		}
	}
}

// currentGCPercent reads GOGC without changing it.
func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// After each collection the floor sets GOGC from what the collection
// found; stopped, it restores the default and adjusts no more.
func TestGCFloorFollowsCollections(t *testing.T) {
	defer debug.SetGCPercent(currentGCPercent())
	const floor = 256 << 20 // far above this test binary's live heap
	g := newGCFloor(floor)
	if p := currentGCPercent(); p <= 100 {
		t.Fatalf("GOGC %d before the first collection, want the floor's", p)
	}
	waitRuns := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for g.runs.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d adjustments after collections, want %d", g.runs.Load(), n)
			}
			runtime.GC()
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitRuns(2) // it re-arms itself after each
	if p := currentGCPercent(); p <= 100 {
		t.Errorf("GOGC %d with a floor far above the live heap", p)
	}
	g.stop()
	if p := currentGCPercent(); p != 100 {
		t.Errorf("GOGC %d after stop, want 100", p)
	}
	runs := g.runs.Load()
	for range 3 {
		runtime.GC()
	}
	time.Sleep(20 * time.Millisecond)
	if g.runs.Load() != runs {
		t.Errorf("%d adjustments after stop", g.runs.Load()-runs)
	}
	if p := currentGCPercent(); p != 100 {
		t.Errorf("GOGC %d some collections after stop, want 100", p)
	}
}

// GOGC in the environment is the operator's choice: left alone.
func TestGCFloorLeavesGOGCAlone(t *testing.T) {
	defer debug.SetGCPercent(currentGCPercent())
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	stop := startGCFloor()
	defer stop()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := currentGCPercent(); p != 150 {
		t.Errorf("GOGC %d, want the environment's 150", p)
	}
}
