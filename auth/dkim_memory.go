package auth

import "sync/atomic"

// headerRead counts the header-section bytes all DKIM verifiers were
// given, kept or not.
var headerRead atomic.Int64

// HeaderBytesRead is how many header-section bytes the DKIM verifiers of
// this process were given (for tests and diagnostics).
func HeaderBytesRead() float64 { return float64(headerRead.Load()) }

// MemoryBudget is memory shared by all sessions (queue.body_memory): a
// header copy beyond headerFree bytes is charged to it.
type MemoryBudget interface {
	Take(n int64) bool // reserve n bytes; false, reserving nothing, past the limit
	Give(n int64)
}

// headerFree is what each verifier's header copy may hold on its own;
// ordinary header sections stay under it.
const headerFree = 64 << 10

// headerChunk is the least a verifier reserves of the budget at a time.
const headerChunk = 64 << 10

// room makes sure the header copy may grow to need bytes: within
// headerFree, or with a reservation of the shared budget (the buffer is
// grown to what is reserved, so append does not double past it). False
// when the budget cannot spare it.
func (v *DKIMVerifier) room(need int) bool {
	allowed := headerFree + v.charged
	if v.budget == nil || int64(need) <= allowed {
		return true
	}
	more := max(int64(need)-allowed, headerChunk)
	more = max(min(more, MaxHeaderCapture-allowed), int64(need)-allowed)
	if !v.budget.Take(more) {
		return false
	}
	v.charged += more
	if int64(cap(v.header)) < allowed+more {
		grown := make([]byte, len(v.header), allowed+more)
		copy(grown, v.header)
		v.header = grown
	}
	return true
}

// HeaderOverBudget reports a header section that outgrew headerFree when
// the shared memory budget could not hold it: a temporary condition (the
// message is refused with a 4xx), unlike HeaderTooLarge.
func (v *DKIMVerifier) HeaderOverBudget() bool { return v.overBudget }

// Release gives back what the header copy holds of the shared budget.
// Call it once the header is no longer used.
func (v *DKIMVerifier) Release() {
	if v.budget != nil && v.charged > 0 {
		v.budget.Give(v.charged)
	}
	v.charged = 0
}
