package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// index is the in-memory schedule of the stored entries: when each is due,
// whether it is held, and whether a delivery has claimed it. The database
// stays the truth; the index only decides what to attempt next.
type index struct {
	mu    sync.Mutex
	items map[string]*item
	due   dueHeap
	held  int
	// oldest orders unheld entries by arrival, for stats without a walk
	// (index_oldest.go).
	oldest oldestHeap
	// idle is closed (and dropped) when a claim ends, for waitIdle.
	idle chan struct{}
}

type item struct {
	id       string
	next     time.Time
	received time.Time
	held     bool
	busy     bool
	inOldest bool   // has an entry in index.oldest
	gen      uint64 // bumped on each reschedule; older heap entries are stale
}

func newIndex() *index { return &index{items: map[string]*item{}} }

// track adds or replaces the schedule of an entry.
func (x *index) track(rec *record) {
	x.mu.Lock()
	defer x.mu.Unlock()
	it := x.items[rec.ID]
	if it == nil {
		it = &item{id: rec.ID}
		x.items[rec.ID] = it
	}
	if it.held {
		x.held--
	}
	if it.inOldest && !it.received.Equal(rec.Received) {
		x.dropOldest(it)
	}
	it.received, it.held = rec.Received, rec.Held
	if it.held {
		x.held++
	}
	x.noteOldest(it)
	x.push(it, rec.NextAttempt)
	x.setDepth()
}

// trackClaimed adds a new entry that its first delivery has already
// claimed: it enters the schedule at its release.
func (x *index) trackClaimed(rec *record) {
	x.mu.Lock()
	defer x.mu.Unlock()
	it := &item{id: rec.ID, received: rec.Received, next: rec.NextAttempt, busy: true}
	x.items[rec.ID] = it
	x.noteOldest(it)
	x.setDepth()
}

// forget drops an entry that was delivered, bounced or deleted.
func (x *index) forget(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if it := x.items[id]; it != nil {
		if it.held {
			x.held--
		}
		delete(x.items, id)
	}
	x.setDepth()
	x.wakeIdle()
}

// setDepth sets the gauges of queued and held entries; x.mu is held.
// Held quarantine is not queue: it waits for a person, not a retry.
func (x *index) setDepth() {
	queueDepth.Set(float64(len(x.items) - x.held))
	quarantineHeld.Set(float64(x.held))
}

// wakeIdle tells waitIdle that a claim ended; x.mu is held.
func (x *index) wakeIdle() {
	if x.idle != nil {
		close(x.idle)
		x.idle = nil
	}
}

// waitIdle returns once no entry of ids is claimed by a delivery (each
// was attempted, or is gone), or when ctx ends.
func (x *index) waitIdle(ctx context.Context, ids []string) error {
	for {
		x.mu.Lock()
		busy := false
		for _, id := range ids {
			if it := x.items[id]; it != nil && it.busy {
				busy = true
				break
			}
		}
		if !busy {
			x.mu.Unlock()
			return nil
		}
		if x.idle == nil {
			x.idle = make(chan struct{})
		}
		idle := x.idle
		x.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// push schedules it at next, unless it is held or claimed (a claimed item
// is rescheduled by its release).
func (x *index) push(it *item, next time.Time) {
	it.next = next
	it.gen++
	if !it.held && !it.busy {
		heap.Push(&x.due, dueEntry{next: next, id: it.id, gen: it.gen})
	}
}

// claim takes the earliest entry due at now and marks it busy; otherwise it
// returns how long until the next one is due (0 if none is scheduled).
func (x *index) claim(now time.Time) (id string, wait time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for x.due.Len() > 0 {
		top := x.due[0]
		it := x.items[top.id]
		if it == nil || it.gen != top.gen || it.busy || it.held {
			heap.Pop(&x.due)
			continue
		}
		if top.next.After(now) {
			return "", top.next.Sub(now)
		}
		heap.Pop(&x.due)
		it.busy = true
		return it.id, 0
	}
	return "", 0
}

// claimID claims one entry if it exists and is free.
func (x *index) claimID(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	it := x.items[id]
	if it == nil || it.busy {
		return false
	}
	it.busy = true
	return true
}

// release ends a claim, scheduling the entry again at next.
func (x *index) release(id string, next time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if it := x.items[id]; it != nil {
		it.busy = false
		x.push(it, next)
	}
	x.wakeIdle()
}

// setHeld changes the hold state; a released entry is due at next.
func (x *index) setHeld(id string, held bool, next time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	it := x.items[id]
	if it == nil || it.held == held {
		return
	}
	it.held = held
	if held {
		x.held++
	} else {
		x.held--
		x.noteOldest(it)
	}
	x.push(it, next)
	x.setDepth()
}

// dueIDs lists the free, unheld entries due at now (for RunOnce).
func (x *index) dueIDs(now time.Time) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var ids []string
	for id, it := range x.items {
		if !it.busy && !it.held && !it.next.After(now) {
			ids = append(ids, id)
		}
	}
	return ids
}

// flush makes every free, unheld entry due at now. It returns the IDs it
// made due, those of every unheld entry (now each due or in delivery), and
// those in delivery (their attempt began before now).
func (x *index) flush(now time.Time) (flushed, pending, busy []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, it := range x.items {
		if it.held {
			continue
		}
		switch {
		case it.busy:
			busy = append(busy, id)
		case it.next.After(now):
			x.push(it, now)
			flushed = append(flushed, id)
		}
		pending = append(pending, id)
	}
	return flushed, pending, busy
}

// flushIDs makes those of ids that are free, unheld and deferred due at
// now, and returns them.
func (x *index) flushIDs(ids []string, now time.Time) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var flushed []string
	for _, id := range ids {
		if it := x.items[id]; it != nil && !it.busy && !it.held && it.next.After(now) {
			x.push(it, now)
			flushed = append(flushed, id)
		}
	}
	return flushed
}

// Stats summarises the queue.
type Stats struct {
	Depth  int       // entries waiting for delivery, held ones not included
	Held   int       // entries on quarantine hold
	Oldest time.Time // arrival of the oldest entry not held; zero if none
}

// stats costs no walk of the entries: the counts are kept as entries come
// and go, and the oldest is the top of x.oldest.
func (x *index) stats() Stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	return Stats{Depth: len(x.items) - x.held, Held: x.held, Oldest: x.oldestUnheld()}
}

type dueEntry struct {
	next time.Time
	id   string
	gen  uint64
}

type dueHeap []dueEntry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].next.Equal(h[j].next) {
		return h[i].id < h[j].id
	}
	return h[i].next.Before(h[j].next)
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(v any)   { *h = append(*h, v.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
