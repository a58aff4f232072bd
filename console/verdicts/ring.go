package verdicts

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/store"
)

var (
	// ringBucket: seq (8 bytes big-endian) -> Record JSON, oldest first.
	ringBucket = []byte("console.verdicts")
	// hoursBucket: hour start (Unix seconds, 8 bytes) -> Counts JSON.
	hoursBucket = []byte("console.verdict_hours")
)

// ErrNotFound: no verdict with that number (it may have left the ring).
var ErrNotFound = errors.New("verdicts: not found")

// DefaultSize is how many verdicts the ring keeps.
const DefaultSize = 10000

// hoursKept: the hourly counts cover the last week and a day.
const hoursKept = 8 * 24 * time.Hour

// pending bounds the verdicts waiting to be written; past it they are
// dropped (and counted) rather than slow the SMTP path.
const pending = 16384

// flushEvery: the writer stores what arrived at most once per interval
// (or per maxBatch verdicts). Each write joins one of the SMTP path's
// group commits; a write per commit would add the ring's pages to every
// one of them (a fifth of the throughput at 2,000 messages/s), one per
// second adds them once.
const (
	flushEvery = time.Second
	maxBatch   = 4096
)

// Ring is the bounded ring. Add never blocks and does no I/O: one writer
// goroutine stores what was added, many verdicts per transaction, through
// the database's group commit.
type Ring struct {
	db      *store.DB
	size    uint64
	log     *slog.Logger
	in      chan *Record
	quit    chan struct{}
	done    chan struct{}
	stop    sync.Once
	dropped atomic.Int64

	// briefs mirrors the ring's newest verdicts in memory, oldest first,
	// for the Overview's top lists: they are counted without reading
	// (and decoding) the whole ring every few seconds.
	mu     sync.Mutex
	briefs []Brief
}

// New makes a ring of size entries (DefaultSize when size <= 0) on db.
// Start its writer with Start; stop it with Close before closing db.
func New(db *store.DB, size int, log *slog.Logger) *Ring {
	if size <= 0 {
		size = DefaultSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Ring{db: db, size: uint64(size), log: log, in: make(chan *Record, pending),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// Add hands a verdict to the writer; when the writer is behind, the
// verdict is dropped (Dropped counts them).
func (r *Ring) Add(rec *Record) {
	select {
	case r.in <- rec:
	default:
		r.dropped.Add(1)
	}
}

// Dropped is how many verdicts were not kept because the writer was behind.
func (r *Ring) Dropped() int64 { return r.dropped.Load() }

// Start loads the briefs of what the ring holds, then runs the writer
// until Close.
func (r *Ring) Start() {
	stored, err := r.storedBriefs(int(r.size))
	if err != nil {
		r.log.Warn("console: reading the recent verdicts", "err", err)
	}
	r.mu.Lock()
	r.briefs = stored
	r.mu.Unlock()
	go r.writer()
}

// remember adds a stored batch to the briefs, keeping the newest size.
func (r *Ring) remember(batch []*Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range batch {
		r.briefs = append(r.briefs, Brief{ClientIP: rec.ClientIP, FromDomain: rec.FromDomain, DMARC: rec.DMARC, Outcome: rec.Outcome})
	}
	if over := len(r.briefs) - int(r.size); over > 0 {
		// Copy down rather than reslice, so the array does not grow for ever.
		r.briefs = r.briefs[:copy(r.briefs, r.briefs[over:])]
	}
}

// Close stores what was added so far and stops the writer.
func (r *Ring) Close() {
	r.stop.Do(func() { close(r.quit) })
	<-r.done
}

func (r *Ring) writer() {
	defer close(r.done)
	for {
		select {
		case rec := <-r.in:
			if !r.collect(rec) {
				r.drain()
				return
			}
		case <-r.quit:
			r.drain()
			return
		}
	}
}

// collect gathers verdicts for flushEvery after the first, then writes
// them; false means Close was called meanwhile.
func (r *Ring) collect(first *Record) bool {
	batch := []*Record{first}
	timer := time.NewTimer(flushEvery)
	defer timer.Stop()
	for len(batch) < maxBatch {
		select {
		case rec := <-r.in:
			batch = append(batch, rec)
		case <-timer.C:
			r.write(batch)
			return true
		case <-r.quit:
			r.write(batch)
			return false
		}
	}
	r.write(batch)
	return true
}

// drain writes what is still waiting, at Close.
func (r *Ring) drain() {
	for {
		var batch []*Record
	gather:
		for len(batch) < maxBatch {
			select {
			case rec := <-r.in:
				batch = append(batch, rec)
			default:
				break gather
			}
		}
		if len(batch) == 0 {
			return
		}
		r.write(batch)
	}
}

func (r *Ring) write(batch []*Record) {
	vals := make([][]byte, len(batch))
	for i, rec := range batch {
		vals[i], _ = json.Marshal(rec) // a Record always marshals
	}
	err := r.db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		return r.put(tx, batch, vals)
	})
	if err != nil {
		r.dropped.Add(int64(len(batch)))
		r.log.Warn("console: storing verdicts failed", "n", len(batch), "err", err)
		return
	}
	r.remember(batch)
}

// put stores a batch, counts it per hour and trims both buckets. It may
// run more than once (the group commit retries), so it only touches tx.
func (r *Ring) put(tx *bbolt.Tx, batch []*Record, vals [][]byte) error {
	b, err := tx.CreateBucketIfNotExists(ringBucket)
	if err != nil {
		return err
	}
	// Keys only ever grow: full pages, not bbolt's half-full default.
	b.FillPercent = 0.95
	first := b.Sequence() + 1
	var seq uint64
	for _, v := range vals {
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		if err := b.Put(be64(seq), v); err != nil {
			return err
		}
	}
	// The batch pushed out the entries size places before it: delete those
	// keys by number, no cursor walk over the emptied start.
	for k := max(first, r.size+1) - r.size; k+r.size <= seq; k++ {
		if err := b.Delete(be64(k)); err != nil {
			return err
		}
	}
	return countHours(tx, batch)
}

// deleteBelow removes the keys before limit.
func deleteBelow(b *bbolt.Bucket, limit []byte) error {
	c := b.Cursor()
	for k, _ := c.First(); k != nil && string(k) < string(limit); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
