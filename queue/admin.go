package queue

import (
	"context"
	"fmt"
	"io"
	"os"

	"go.etcd.io/bbolt"
)

// List returns every entry, oldest first.
func (q *Queue) List() ([]Message, error) {
	return q.list(func(*record) bool { return true })
}

// ListHeld returns the entries on quarantine hold, oldest first.
func (q *Queue) ListHeld() ([]Message, error) {
	return q.list(func(r *record) bool { return r.Held })
}

func (q *Queue) list(keep func(*record) bool) ([]Message, error) {
	var out []Message
	err := q.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(entryBucket).ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(v)
			if err != nil {
				// One damaged entry must not hide the rest of the queue.
				q.log.Error("queue: unreadable entry", "id", string(k), "err", err)
				return nil
			}
			if keep(rec) {
				out = append(out, rec.Message)
			}
			return nil
		})
	})
	return out, err
}

// Get returns one entry, or an error wrapping ErrNotFound.
func (q *Queue) Get(id string) (*Message, error) {
	rec, err := q.get(id)
	if err != nil {
		return nil, err
	}
	return &rec.Message, nil
}

// Stats summarises the queue from its in-memory schedule.
func (q *Queue) Stats() Stats { return q.index.stats() }

// Release lifts the quarantine hold of an entry: it is due at once.
func (q *Queue) Release(id string) error {
	now := q.now()
	found := false
	err := q.db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		v := tx.Bucket(entryBucket).Get([]byte(id))
		if found = v != nil; !found {
			return nil
		}
		rec, err := decodeRecord(v)
		if err != nil {
			return err
		}
		rec.Held, rec.HoldReason, rec.NextAttempt = false, "", now
		return putEntry(tx, rec, nil)
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	q.index.setHeld(id, false, now)
	q.signal()
	return nil
}

// Delete removes an entry and its body without delivering it (no DSN). A
// delivery in flight finishes, but its outcome is not recorded.
func (q *Queue) Delete(id string) error {
	var rec *record
	err := q.db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		rec = nil
		v := tx.Bucket(entryBucket).Get([]byte(id))
		if v == nil {
			return nil
		}
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		rec = r
		return deleteEntry(tx, id)
	})
	if err != nil {
		return err
	}
	if rec == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if rec.Spooled {
		os.Remove(q.spoolPath(id))
	}
	q.index.forget(id)
	return nil
}

// Body returns the message of an entry as it would be delivered: Prefix,
// then the spooled body without the Omit ranges.
func (q *Queue) Body(id string) (io.ReadCloser, error) {
	rec, err := q.get(id)
	if err != nil {
		return nil, err
	}
	b, err := q.openBody(rec)
	if err != nil {
		return nil, err
	}
	return readCloser{Reader: deliveredReader(rec.Prefix, b.ReaderAt, b.size, rec.Omit), close: b.close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
