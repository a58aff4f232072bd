package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// heapFloor is the least heap the collector lets the daemon grow to
// between two collections. The gateway keeps little alive (a few MiB when
// it relays small mail) but allocates a lot per message. With Go's default
// (collect when the heap doubles), it would then collect dozens of times a
// second, each time stopping the world twice and waking threads on every
// CPU: under load that costs about a tenth of the throughput. A large live heap (many large messages
// in flight) still collects when it doubles, so memory stays within twice
// what is alive, or heapFloor.
const heapFloor = 32 << 20

// The runtime's figures for the last collection: the heap it found alive,
// and the stacks and globals it scanned. Its next goal is live + (live +
// stacks + globals) × GOGC/100.
var gcMetrics = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// gcFloor keeps the collector's goal at max(2 × live heap, floor): after
// each collection it sets GOGC from the live heap it measured.
type gcFloor struct {
	floor uint64
	runs  atomic.Int64 // adjustments made, for tests

	mu      sync.Mutex // an adjustment and stop do not interleave
	stopped bool
	sample  []metrics.Sample
}

// startGCFloor applies heapFloor unless GOGC is set (the operator's choice
// stands). The returned function stops it.
func startGCFloor() (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	g := newGCFloor(heapFloor)
	return g.stop
}

func newGCFloor(floor uint64) *gcFloor {
	g := &gcFloor{floor: floor}
	for _, name := range gcMetrics {
		g.sample = append(g.sample, metrics.Sample{Name: name})
	}
	// Before the first collection the runtime's goal is 4 MiB scaled by
	// GOGC/100: start there at the floor.
	debug.SetGCPercent(gcPercentFor(0, 4<<20, floor))
	g.arm()
	return g
}

// arm attaches a cleanup to a fresh object, so that it runs after the next
// collection, adjusts GOGC and arms itself again.
func (g *gcFloor) arm() {
	sentinel := new([64]byte) // large enough not to share a tiny block
	runtime.AddCleanup(sentinel, func(g *gcFloor) {
		if g.adjust() {
			g.arm()
		}
	}, g)
}

// adjust sets GOGC for the collection just done; false once stopped.
func (g *gcFloor) adjust() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	metrics.Read(g.sample)
	var v [3]uint64
	for i, s := range g.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return true // a runtime without these figures: nothing to do
		}
		v[i] = s.Value.Uint64()
	}
	debug.SetGCPercent(gcPercentFor(v[0], v[0]+v[1]+v[2], g.floor))
	g.runs.Add(1)
	return true
}

// stop restores Go's default and ends the adjustments.
func (g *gcFloor) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stopped {
		g.stopped = true
		debug.SetGCPercent(100)
	}
}

// gcPercentFor is the GOGC that puts the next collection at floor, given
// the live heap and what the runtime scales by GOGC (live heap, stacks and
// globals); never below the default of 100.
func gcPercentFor(live, scaled, floor uint64) int {
	const most = 1 << 20
	if live >= floor {
		return 100
	}
	if scaled == 0 || (floor-live)/scaled >= most/100 {
		return most
	}
	return max(100, int((floor-live)*100/scaled))
}
