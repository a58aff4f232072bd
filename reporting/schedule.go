package reporting

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.etcd.io/bbolt"
)

// keepStates is how long finished report states are kept (for logs and
// the guarantee that a report is never generated twice); keepDaily is how
// long the per-day destination counts are kept.
const (
	keepStates = 30 * 24 * time.Hour
	keepDaily  = 2
)

// Run is the scheduler inside serve: at each period's end, after a random
// delay of up to SendDelay (so that receivers do not all send at the same
// moment), it sends the due reports; between period ends it wakes every
// retryCheck to retry destination checks that failed temporarily. It
// returns when ctx ends. While reporting is disabled it only looks, every
// enabledWait, whether a reload enabled it.
func (r *Reporter) Run(ctx context.Context) {
	delay := r.randomDelay()
	for {
		wait := enabledWait
		if r.config().Enabled {
			wait = nextWake(r.now(), r.config().Interval, delay, retryCheck)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !r.config().Enabled {
			continue
		}
		sum, err := r.Send(ctx, false)
		if err != nil && ctx.Err() == nil {
			r.log.Error("sending aggregate reports", "err", err)
		}
		if sum.Closed > 0 || sum.Enqueued > 0 {
			r.log.Info("aggregate reports sent", "closed", sum.Closed, "generated", sum.Generated,
				"enqueued", sum.Enqueued, "recipients", sum.Recipients, "skipped", sum.Skipped, "deferred", sum.Deferred)
			delay = r.randomDelay()
		}
	}
}

func (r *Reporter) randomDelay() time.Duration {
	if r.config().SendDelay <= 0 {
		return 0
	}
	return rand.N(r.config().SendDelay)
}

// nextWake is how long to sleep at now: until the current period's end
// plus delay, but never longer than retry.
func nextWake(now time.Time, interval, delay, retry time.Duration) time.Duration {
	end := time.Unix(alignedEnd(alignedStart(now, interval), interval), 0)
	wait := end.Add(delay).Sub(now)
	if since := now.Sub(end.Add(-interval)); since < delay {
		// Still inside the delay after the previous boundary.
		wait = delay - since
	}
	return max(min(wait, retry), 10*time.Millisecond)
}

// prune forgets finished reports, old daily counts and expired
// suppressions.
func (r *Reporter) prune(ctx context.Context) error {
	now := r.now()
	err := r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		if err := pruneStates(tx, now); err != nil {
			return err
		}
		if err := pruneBefore(tx.Bucket(dailyBucket), be64(dayOf(now)-keepDaily)); err != nil {
			return err
		}
		return pruneSuppressed(tx, now)
	})
	if err != nil {
		return fmt.Errorf("reporting: pruning: %w", err)
	}
	return nil
}

func pruneStates(tx *bbolt.Tx, now time.Time) error {
	b := tx.Bucket(reportsBucket)
	horizon := now.Add(-keepStates).Unix()
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && fromBE64(k) < horizon; k, _ = c.Next() {
		st, err := getState(tx, k)
		if err == nil && st != nil && (st.State == statePending || st.State == stateGenerated) {
			continue
		}
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(reportDataBucket).Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// pruneBefore deletes the keys of b that sort before limit.
func pruneBefore(b *bbolt.Bucket, limit []byte) error {
	c := b.Cursor()
	for k, _ := c.First(); k != nil && string(k) < string(limit); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func pruneSuppressed(tx *bbolt.Tx, now time.Time) error {
	b := tx.Bucket(suppressBucket)
	var expired [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if fromBE64(v) <= now.Unix() {
			expired = append(expired, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range expired {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
