package queue

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrStorageFull: the gateway has no room for another message now: the
// free space on state_dir is below Config.MinFreeSpace, or bodies being
// received hold Config.MaxSpoolInFlight in spool files. smtpd answers it
// with 452 4.3.1 (RFC 3463 §3.4), and the sender tries again later.
var ErrStorageFull = errors.New("queue: insufficient storage")

// StorageLow returns ErrStorageFull, wrapped with the reason, when a new
// message should be refused for lack of storage; nil otherwise.
func (q *Queue) StorageLow() error {
	if q.spool != nil && q.spool.used.Load() >= q.spool.limit {
		return fmt.Errorf("%w: %d bytes of bodies being received in spool files (max_spool_in_flight)",
			ErrStorageFull, q.spool.used.Load())
	}
	if q.cfg.MinFreeSpace <= 0 {
		return nil
	}
	free, ok := q.free.bytes(q.cfg.Dir, time.Now())
	if ok && free < q.cfg.MinFreeSpace {
		return fmt.Errorf("%w: %d bytes free on %s, below min_free_space", ErrStorageFull, free, q.cfg.Dir)
	}
	return nil
}

// freeSpace remembers the last statfs of state_dir for a second: every
// MAIL asks, and a second of mail cannot eat a sensible min_free_space.
type freeSpace struct {
	at   atomic.Int64 // UnixNano of the lookup; 0: none yet
	free atomic.Int64 // bytes free then; < 0: the lookup failed
}

// freeSpaceTTL is how long a lookup of the free space holds.
const freeSpaceTTL = time.Second

func (f *freeSpace) bytes(dir string, now time.Time) (int64, bool) {
	if at := f.at.Load(); at != 0 && now.UnixNano()-at < int64(freeSpaceTTL) {
		free := f.free.Load()
		return free, free >= 0
	}
	free, ok := freeBytes(dir)
	if !ok {
		free = -1
	}
	f.free.Store(free)
	f.at.Store(now.UnixNano())
	return free, ok
}

// SpoolInFlight is what bodies being received hold in spool files now.
func (q *Queue) SpoolInFlight() int64 {
	if q.spool == nil {
		return 0
	}
	return q.spool.used.Load()
}

// chargeSpool counts n more bytes of this body's spool file against the
// shared bound; past it, ErrStorageFull.
func (b *Body) chargeSpool(n int64) error {
	if b.spool == nil {
		return nil
	}
	if !b.spool.take(n) {
		return ErrStorageFull
	}
	b.onDisk += n
	return nil
}

func (b *Body) releaseSpool() {
	if b.spool != nil && b.onDisk > 0 {
		b.spool.give(b.onDisk)
	}
	b.onDisk = 0
}
