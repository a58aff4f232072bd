package inbound

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"go.etcd.io/bbolt"
)

// Report mail reaches whichever MX host the reporter picked. With several
// instances (package cluster), each keeps the readable report mail it took
// in an outbox, the cluster ships it to the others, and each files what it
// receives with IngestShared: every instance's store converges on every
// report, and the store's dedup (reporter, report_id) makes a repeat
// harmless.

// doneShared clears the pending mark and puts data in the outbox, in one
// commit.
func (in *Intake) doneShared(ctx context.Context, id string, data []byte, log *slog.Logger) {
	err := in.Store.db.Commit(ctx, func(tx *bbolt.Tx) error {
		out := bucket(tx, outboxBucket)
		seq, err := out.NextSequence()
		if err != nil {
			return err
		}
		if err := out.Put(be64(seq), data); err != nil {
			return err
		}
		return bucket(tx, pendingBucket).Delete([]byte(id))
	})
	if err != nil {
		log.Error("inbound reports: clearing the pending mark", "err", err)
	}
}

// ShipOutbox hands each report mail in the outbox to ship, oldest first,
// and forgets it once ship returned nil; it returns how many it shipped.
func (s *Store) ShipOutbox(ctx context.Context, ship func(context.Context, []byte) error) (int, error) {
	n := 0
	for {
		var key, data []byte
		err := s.db.View(func(tx *bbolt.Tx) error {
			k, v := bucket(tx, outboxBucket).Cursor().First()
			key, data = bytes.Clone(k), bytes.Clone(v)
			return nil
		})
		if err != nil || key == nil {
			return n, err
		}
		if err := ship(ctx, data); err != nil {
			return n, err
		}
		if err := s.db.Commit(ctx, func(tx *bbolt.Tx) error { return bucket(tx, outboxBucket).Delete(key) }); err != nil {
			return n, err
		}
		n++
	}
}

// IngestShared files report mail another instance took.
func (s *Store) IngestShared(ctx context.Context, data []byte) error {
	_, err := s.Ingest(ctx, data, time.Now())
	return err
}

func be64(v uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}
