package queue

import (
	"bytes"

	"go.etcd.io/bbolt"
)

// walkBatch is how many entries Walk reads in one read transaction.
const walkBatch = 500

// Walk calls fn for each entry that keep accepts (nil: all), oldest first
// (IDs sort by arrival), reading walkBatch entries per read transaction:
// a listing of a queue of any size holds one batch in memory, and no
// transaction stays open while fn writes to a slow reader. Entries added
// or removed during the walk may or may not be seen. fn's error stops it.
func (q *Queue) Walk(keep func(*Message) bool, fn func(*Message) error) error {
	var after []byte
	for {
		batch, last, err := q.readBatch(after, keep)
		if err != nil {
			return err
		}
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		after = last
	}
}

// readBatch reads up to walkBatch entries after the key after (nil: from
// the start); last is the last key read, nil at the end of the bucket.
func (q *Queue) readBatch(after []byte, keep func(*Message) bool) (batch []Message, last []byte, err error) {
	err = q.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(entryBucket).Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		n := 0
		for ; k != nil && n < walkBatch; k, v = c.Next() {
			n++
			last = append(last[:0], k...)
			rec, err := decodeRecord(v)
			if err != nil {
				q.log.Error("queue: unreadable entry", "id", string(k), "err", err)
				continue
			}
			if keep == nil || keep(&rec.Message) {
				batch = append(batch, rec.Message)
			}
		}
		if k == nil {
			last = nil
		}
		return nil
	})
	return batch, last, err
}
