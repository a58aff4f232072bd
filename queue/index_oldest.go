package queue

import (
	"container/heap"
	"time"
)

// oldestHeap orders entries by arrival. Entries leave it lazily: one that
// was forgotten, held or re-timed is dropped when it reaches the top, and
// the heap is rebuilt when such leftovers outnumber the live entries, so
// it stays within about twice the queue.
type oldestHeap []*item

func (h oldestHeap) Len() int { return len(h) }
func (h oldestHeap) Less(i, j int) bool {
	if h[i].received.Equal(h[j].received) {
		return h[i].id < h[j].id
	}
	return h[i].received.Before(h[j].received)
}
func (h oldestHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *oldestHeap) Push(v any)   { *h = append(*h, v.(*item)) }
func (h *oldestHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return v
}

// noteOldest puts an unheld entry in x.oldest unless it is there; x.mu is held.
func (x *index) noteOldest(it *item) {
	if it.held || it.inOldest {
		return
	}
	it.inOldest = true
	heap.Push(&x.oldest, it)
	if len(x.oldest) > 2*len(x.items)+64 {
		x.rebuildOldest()
	}
}

// dropOldest takes it out of x.oldest (its arrival time changes); x.mu is held.
func (x *index) dropOldest(it *item) {
	for i, o := range x.oldest {
		if o == it {
			heap.Remove(&x.oldest, i)
			break
		}
	}
	it.inOldest = false
}

// live reports whether an item of x.oldest still counts.
func (x *index) live(it *item) bool { return x.items[it.id] == it && !it.held }

// oldestUnheld is the arrival of the oldest unheld entry, dropping the
// leftovers above it; x.mu is held.
func (x *index) oldestUnheld() time.Time {
	for len(x.oldest) > 0 {
		top := x.oldest[0]
		if x.live(top) {
			return top.received
		}
		heap.Pop(&x.oldest)
		top.inOldest = false
	}
	return time.Time{}
}

// rebuildOldest keeps only the live entries; x.mu is held.
func (x *index) rebuildOldest() {
	kept := x.oldest[:0]
	for _, it := range x.oldest {
		if x.live(it) {
			kept = append(kept, it)
		} else {
			it.inOldest = false
		}
	}
	clear(x.oldest[len(kept):])
	x.oldest = kept
	heap.Init(&x.oldest)
}
