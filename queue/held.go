package queue

import (
	"context"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// ExpireHeld deletes the entries on quarantine hold that arrived before
// cutoff (no delivery, no DSN: the sender failed DMARC) and returns them,
// for the log.
func (q *Queue) ExpireHeld(ctx context.Context, cutoff time.Time) ([]Message, error) {
	old, err := q.list(func(r *record) bool { return r.Held && r.Received.Before(cutoff) })
	if err != nil || len(old) == 0 {
		return nil, err
	}
	var gone []*record
	err = q.db.Commit(ctx, func(tx *bbolt.Tx) error {
		gone = gone[:0]
		for i := range old {
			v := tx.Bucket(entryBucket).Get([]byte(old[i].ID))
			if v == nil {
				continue
			}
			rec, err := decodeRecord(v)
			if err != nil || !rec.Held { // released meanwhile
				continue
			}
			if err := deleteEntry(tx, rec.ID); err != nil {
				return err
			}
			gone = append(gone, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(gone))
	for _, rec := range gone {
		if rec.Spooled {
			os.Remove(q.spoolPath(rec.ID))
		}
		q.index.forget(rec.ID)
		out = append(out, rec.Message)
	}
	return out, nil
}
