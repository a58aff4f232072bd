package inbound

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"time"

	"go.etcd.io/bbolt"
)

// DefaultRetention is how long reports are kept unless configured.
const DefaultRetention = 400 * 24 * time.Hour

// pruneBatch bounds the keys one commit removes, so pruning a year never
// holds the write lock for long.
const pruneBatch = 2000

// Prune removes the reports of days before cutoff's day, and the failure
// samples older than cutoff. It returns how many entries it removed.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	var domains [][]byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		return bucket(tx, domainsBucket).ForEach(func(k, _ []byte) error {
			domains = append(domains, bytes.Clone(k))
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, d := range domains {
		for {
			n, err := s.pruneSome(ctx, string(d), cutoff)
			total += n
			if err != nil || n < pruneBatch {
				if err != nil {
					return total, err
				}
				break
			}
		}
	}
	return total, nil
}

// pruneSome removes up to pruneBatch old entries of one domain.
func (s *Store) pruneSome(ctx context.Context, domain string, cutoff time.Time) (int, error) {
	n := 0
	err := s.db.Commit(ctx, func(tx *bbolt.Tx) error {
		n = 0
		reports, seen := bucket(tx, reportsBucket), bucket(tx, seenBucket)
		end := dayPrefix(domain, dayOf(cutoff))
		c := reports.Cursor()
		for k, _ := c.Seek(dayPrefix(domain, 0)); k != nil && bytes.Compare(k, end) < 0 && n < pruneBatch; k, _ = c.Seek(dayPrefix(domain, 0)) {
			if _, tail, ok := splitReportKey(k, domain); ok {
				if err := seen.Delete(bytes.Clone(tail)); err != nil {
					return err
				}
			}
			if err := reports.Delete(bytes.Clone(k)); err != nil {
				return err
			}
			n++
		}
		f := bucket(tx, failuresBucket)
		fend := binary.BigEndian.AppendUint64(append([]byte(domain), 0), uint64(max(cutoff.Unix(), 0)))
		fc := f.Cursor()
		start := append([]byte(domain), 0)
		for k, _ := fc.Seek(start); k != nil && bytes.Compare(k, fend) < 0 && n < pruneBatch; k, _ = fc.Seek(start) {
			if err := f.Delete(bytes.Clone(k)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RunRetention prunes what is older than keep at start and then every
// interval, until ctx ends.
func (s *Store) RunRetention(ctx context.Context, keep, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Prune(ctx, time.Now().Add(-keep))
		if err != nil && ctx.Err() == nil {
			log.Warn("inbound reports: pruning failed", "err", err)
		} else if n > 0 {
			log.Info("inbound reports: pruned old reports", "entries", n, "retention", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
