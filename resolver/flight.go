package resolver

import "sync"

// flightResult is what one upstream lookup yields, shared by every caller
// merged into it; callers must not modify it.
type flightResult struct {
	answer *Answer
	fail   *failure
}

// flightCall is one upstream lookup in progress; done closes when result is set.
type flightCall struct {
	done   chan struct{}
	result flightResult
}

// flightGroup merges concurrent lookups of the same key into one upstream
// query, so a burst of identical questions costs the servers one.
type flightGroup struct {
	mu    sync.Mutex
	calls map[question]*flightCall
}

// join returns the call in progress for key and false, or starts fn in a
// new goroutine and returns its call and true. fn runs without any
// caller's context so that a caller giving up does not fail the others.
func (g *flightGroup) join(key question, fn func() flightResult) (*flightCall, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if call, ok := g.calls[key]; ok {
		return call, false
	}
	if g.calls == nil {
		g.calls = make(map[question]*flightCall)
	}
	call := &flightCall{done: make(chan struct{})}
	g.calls[key] = call
	go func() {
		call.result = fn()
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(call.done)
	}()
	return call, true
}
