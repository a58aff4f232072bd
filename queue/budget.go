package queue

import "sync/atomic"

// memoryBudget bounds the bytes that bodies being received hold in memory
// beyond MemoryKept each, across all sessions. A body that cannot get its
// share goes to a spool file: slower (an fsync of its own), never refused.
// Without it, each of max_connections sessions could hold up to
// memoryLimit.
type memoryBudget struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes; false, reserving nothing, when that would pass
// the limit.
func (m *memoryBudget) take(n int64) bool {
	if m.used.Add(n) <= m.limit {
		return true
	}
	m.used.Add(-n)
	return false
}

func (m *memoryBudget) give(n int64) { m.used.Add(-n) }

// MemoryBudget is Config.BodyMemory as others may share it: the DKIM
// verifier's header copies count against it too (auth.MemoryBudget).
type MemoryBudget interface {
	Take(n int64) bool
	Give(n int64)
}

// Take reserves n bytes; false, reserving nothing, past the limit.
func (m *memoryBudget) Take(n int64) bool { return m.take(n) }

// Give returns n bytes taken.
func (m *memoryBudget) Give(n int64) { m.give(n) }

// SharedMemory is the budget of bodies being received, for the header
// copies of the DKIM verifier to share.
func (q *Queue) SharedMemory() MemoryBudget { return q.memory }

// BodyMemoryInUse reports how much of Config.BodyMemory bodies being
// received hold now.
func (q *Queue) BodyMemoryInUse() int64 { return q.memory.used.Load() }
