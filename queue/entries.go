package queue

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"
)

// get reads one entry.
func (q *Queue) get(id string) (*record, error) {
	var rec *record
	err := q.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(entryBucket).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		var err error
		rec, err = decodeRecord(v)
		return err
	})
	return rec, err
}

// getWithBody reads one entry and, in the same transaction, its body.
// bodyErr says why the body could not be read (the entry is still valid).
func (q *Queue) getWithBody(id string) (rec *record, body *storedBody, bodyErr, err error) {
	err = q.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(entryBucket).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		var err error
		if rec, err = decodeRecord(v); err != nil || rec.Spooled {
			return err
		}
		body, bodyErr = copyBody(tx, rec)
		return nil
	})
	if err == nil && rec.Spooled {
		body, bodyErr = q.openSpooled(rec)
	}
	return rec, body, bodyErr, err
}

// putEntry stores rec, and its body when the body is kept in the database.
func putEntry(tx *bbolt.Tx, rec *record, body []byte) error {
	v, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	if err := tx.Bucket(entryBucket).Put([]byte(rec.ID), v); err != nil {
		return err
	}
	if body != nil {
		return tx.Bucket(bodyBucket).Put([]byte(rec.ID), body)
	}
	return nil
}

// putNewEntry is putEntry for a fresh ID, refusing to overwrite.
func putNewEntry(tx *bbolt.Tx, rec *record, body []byte) error {
	if tx.Bucket(entryBucket).Get([]byte(rec.ID)) != nil {
		return fmt.Errorf("queue: entry %s already exists", rec.ID)
	}
	if body == nil && !rec.Spooled {
		body = []byte{} // an empty body is still a stored body
	}
	return putEntry(tx, rec, body)
}

func deleteEntry(tx *bbolt.Tx, id string) error {
	if err := tx.Bucket(entryBucket).Delete([]byte(id)); err != nil {
		return err
	}
	return tx.Bucket(bodyBucket).Delete([]byte(id))
}

// commitOutcome stores an attempt's outcome with any DSN it caused. gone
// means the entry was deleted while it was being delivered: nothing is
// stored then.
func (q *Queue) commitOutcome(rec *record, dsn *record, dsnBody []byte) (gone bool, err error) {
	err = q.db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		gone = tx.Bucket(entryBucket).Get([]byte(rec.ID)) == nil
		if gone {
			return nil
		}
		if len(rec.To) == 0 {
			if err := deleteEntry(tx, rec.ID); err != nil {
				return err
			}
		} else if err := putEntry(tx, rec, nil); err != nil {
			return err
		}
		if dsn != nil {
			return putNewEntry(tx, dsn, dsnBody)
		}
		return nil
	})
	return gone, err
}

// updateEntries applies change to each stored entry of ids (skipping
// missing ones) in one commit; change returns whether to store the result.
func (q *Queue) updateEntries(ctx context.Context, ids []string, change func(*record) bool) error {
	return q.db.Commit(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(entryBucket)
		for _, id := range ids {
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			rec, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if !change(rec) {
				continue
			}
			if err := putEntry(tx, rec, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
