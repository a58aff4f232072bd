// Package store owns dmarcgate's one bbolt database and its group commit:
// concurrent writers hand their changes to a single committer that applies
// every pending change in one transaction, so they share one fsync.
// It knows no bucket layout: queue and reporting own their buckets.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrLocked: another process holds the database file.
	ErrLocked = errors.New("store: database is locked by another process")
	// ErrClosed: the database was closed before the change could be committed.
	ErrClosed = errors.New("store: database closed")
)

// DefaultLockTimeout is used when Open is given no positive timeout, so a
// second process never waits forever for the file lock.
const DefaultLockTimeout = time.Second

// maxBatch bounds how many requests share one transaction, so one commit
// cannot grow without limit under heavy load.
const maxBatch = 1000

// DB is the opened database. Bolt is exposed for read transactions and for
// callers that need bbolt directly; writes should go through Commit.
type DB struct {
	Bolt *bbolt.DB

	requests chan *request
	quit     chan struct{}
	done     chan struct{}
	close    sync.Once

	commits   atomic.Int64
	committed atomic.Int64

	gather func(time.Duration) // time.Sleep; tests watch it
}

type request struct {
	ctx context.Context
	fn  func(tx *bbolt.Tx) error
	err chan error
}

// Open opens (creating if needed) the database at path. If another process
// holds it for longer than timeout, Open fails with an error wrapping
// ErrLocked that names the file.
func Open(path string, timeout time.Duration) (*DB, error) {
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: timeout,
		// The free-page list is not written at each commit (under load it
		// is most of what a commit writes); Open rebuilds it by scanning.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (is another dmarcgate running on this state directory?)", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	d := &DB{
		Bolt:     b,
		requests: make(chan *request),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		gather:   time.Sleep,
	}
	go d.committer()
	return d, nil
}

// Close stops the committer (pending requests get ErrClosed) and closes the
// file. It is safe to call more than once.
func (d *DB) Close() error {
	var err error
	d.close.Do(func() {
		close(d.quit)
		<-d.done
		err = d.Bolt.Close()
	})
	return err
}

// View runs fn in a read-only transaction.
func (d *DB) View(fn func(tx *bbolt.Tx) error) error {
	return d.Bolt.View(fn)
}

// Commits is how many write transactions the committer has run; with
// Requests it shows how well concurrent writers share fsyncs.
func (d *DB) Commits() int64 { return d.commits.Load() }

// Requests is how many Commit requests were committed successfully.
func (d *DB) Requests() int64 { return d.committed.Load() }

// Commit runs fn in a write transaction shared with any other pending
// requests and returns once that transaction is durably on disk (nil) or
// failed. fn may run more than once (when another request in its batch
// fails), so it must have no side effects outside tx. An error from fn fails
// that request alone. Once its batch has started, Commit waits for the
// outcome even if ctx is cancelled, so that a nil error always means durable.
func (d *DB) Commit(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case d.requests <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.quit:
		return ErrClosed
	}
	return <-r.err
}

// maxGather bounds how long a batch waits for company (see committer).
const maxGather = time.Millisecond

// committer takes one request, then every other one already waiting, and
// commits them together. Requests pile up while a commit is in flight;
// under concurrent load (the last batch had more than one request) the
// committer also waits, before taking them, as long as the last commit
// took, up to maxGather. A commit's cost is mostly its two fsyncs, whatever
// its size: waiting that long at most doubles the commit's share of a
// message's latency, and halves or better the fsyncs per message, which
// under load are what the whole machine (and a virtual disk most of all)
// runs short of. A lone request never waits.
func (d *DB) committer() {
	defer close(d.done)
	var lastSize int
	var lastTook time.Duration
	for {
		var first *request
		select {
		case first = <-d.requests:
		case <-d.quit:
			return
		}
		if lastSize > 1 {
			d.gather(min(lastTook, maxGather))
		}
		batch := []*request{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-d.requests:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		start := time.Now()
		d.run(batch)
		lastSize, lastTook = len(batch), time.Since(start)
	}
}

// failedRequest marks which request of a batch made the transaction fail.
type failedRequest struct {
	index int
	err   error
}

func (f *failedRequest) Error() string { return f.err.Error() }

// run commits batch, dropping any request whose fn fails (it alone gets the
// error) and retrying the rest, like bbolt's Batch.
func (d *DB) run(batch []*request) {
	for len(batch) > 0 {
		live := batch[:0]
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				r.err <- err
				continue
			}
			live = append(live, r)
		}
		batch = live
		if len(batch) == 0 {
			return
		}
		start := time.Now()
		err := d.Bolt.Update(func(tx *bbolt.Tx) error {
			for i, r := range batch {
				if err := safeCall(r.fn, tx); err != nil {
					return &failedRequest{index: i, err: err}
				}
			}
			return nil
		})
		d.commits.Add(1)
		var failed *failedRequest
		if errors.As(err, &failed) {
			batch[failed.index].err <- failed.err
			batch = append(batch[:failed.index], batch[failed.index+1:]...)
			continue
		}
		commitSeconds.Observe(time.Since(start).Seconds())
		commitBatchSize.Observe(float64(len(batch)))
		if err == nil {
			d.committed.Add(int64(len(batch)))
		}
		for _, r := range batch {
			r.err <- err
		}
		return
	}
}

// safeCall turns a panic in fn into an error for that request alone, so a
// bug in one caller cannot take down the committer and every other writer.
func safeCall(fn func(tx *bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: commit function panicked: %v", p)
		}
	}()
	return fn(tx)
}
