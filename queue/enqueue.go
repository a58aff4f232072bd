package queue

import (
	"context"
	"maps"
	"os"
	"slices"

	"go.etcd.io/bbolt"
)

// Enqueue stores m with body durably and returns its new ID. The entry, a
// body kept in memory, and whatever extra writes are committed in one
// transaction shared with concurrent callers (one fsync); a spilled body is
// fsync'd as a file first. Then a worker is woken without waiting. On error
// nothing is stored and the spool file is removed. body may be nil (empty);
// it is consumed either way. m.ID is set on success.
func (q *Queue) Enqueue(ctx context.Context, m *Message, body *Body, extra func(tx *bbolt.Tx) error) (string, error) {
	if body == nil {
		body = q.NewBody()
	}
	// Committed or not, the body stops counting against the budget here:
	// what a worker keeps for the first attempt is bounded by the workers.
	defer body.release()
	rec := q.newRecord(m)
	if err := rec.validate(body.Len()); err != nil {
		body.Abort()
		return "", err
	}
	rec.Size = deliveredSize(rec.Prefix, body.Len(), rec.Omit)
	path, err := body.seal(rec.ID)
	if err != nil {
		return "", err
	}
	rec.Spooled = path != ""
	var inline []byte
	if !rec.Spooled {
		inline = body.buf
	}
	err = q.db.Commit(ctx, func(tx *bbolt.Tx) error {
		if err := putNewEntry(tx, rec, inline); err != nil {
			return err
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
	if err != nil {
		if path != "" {
			os.Remove(path)
		}
		return "", err
	}
	id := rec.ID
	countQueued(rec)
	switch {
	case inline == nil || rec.Held:
		q.index.track(rec)
		q.signal()
	case !q.handOff(rec, inline):
		q.signal() // handOff scheduled it
	}
	m.ID = id
	return id, nil
}

// freshEntry is a just-committed entry with its body, still in memory,
// handed to an idle worker.
type freshEntry struct {
	rec  *record
	body []byte
}

// handOff gives a just-committed entry straight to an idle worker, so that
// its first attempt needs neither the dispatcher nor a read of what was
// just written. It reports false when no worker is waiting (or none runs):
// the entry is then in the schedule, waiting its turn. After true, rec
// belongs to the worker.
func (q *Queue) handOff(rec *record, body []byte) bool {
	q.index.trackClaimed(rec)
	fresh := q.fresh
	if rec.Route == RouteOutbound {
		fresh = q.freshOutbound // never a relay worker's time
	}
	select {
	case fresh <- freshEntry{rec: rec, body: body}:
		return true
	default:
		q.index.release(rec.ID, rec.NextAttempt)
		return false
	}
}

// newRecord copies m (the caller keeps its slices) and sets what the queue
// maintains. An ID already set (from NewID) is kept.
func (q *Queue) newRecord(m *Message) *record {
	now := q.now()
	rec := &record{Message: *m}
	rec.To = slices.Clone(m.To)
	rec.Prefix = slices.Clone(m.Prefix)
	rec.Omit = slices.Clone(m.Omit)
	rec.Meta = maps.Clone(m.Meta)
	if rec.ID == "" {
		rec.ID = ids.next(now)
	}
	if rec.Received.IsZero() {
		rec.Received = now
	}
	rec.Attempts, rec.LastError, rec.NextAttempt = 0, "", now
	return rec
}
