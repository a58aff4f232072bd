package queue

import (
	"errors"
	"sync"
	"time"
)

// errHostBusy: every address of a destination already has its share of
// our deliveries. The recipients wait a little, without it counting as an
// attempt.
var errHostBusy = errors.New("too many deliveries in progress to this destination's mail hosts")

// hostBusyRetry is how long recipients wait after errHostBusy.
const hostBusyRetry = 10 * time.Second

// hostSlots caps concurrent deliveries per outbound address, so one slow
// or hostile MX holds at most that many connections (and outbound workers).
type hostSlots struct {
	max  int
	mu   sync.Mutex
	busy map[string]int
}

func newHostSlots(max int) *hostSlots { return &hostSlots{max: max, busy: map[string]int{}} }

// acquire takes a slot for addr if one is free.
func (h *hostSlots) acquire(addr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[addr] >= h.max {
		return false
	}
	h.busy[addr]++
	return true
}

func (h *hostSlots) release(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[addr]--; h.busy[addr] <= 0 {
		delete(h.busy, addr)
	}
}

// onlyHostBusy reports whether every deferral of o is errHostBusy.
func onlyHostBusy(o outcome) bool {
	for _, r := range o.deferred {
		if !errors.Is(r.err, errHostBusy) {
			return false
		}
	}
	return len(o.deferred) > 0
}
