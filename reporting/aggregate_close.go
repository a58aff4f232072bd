package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// closePeriods ends every open period that started before the cut: the
// current boundary, or now when closeNow. openFrom moves first, so a
// Record transaction committed after this one lands in the new period;
// one committed before is included (commits are serialised).
func (r *Reporter) closePeriods(ctx context.Context, closeNow bool) ([]*aggState, error) {
	now := r.now()
	cut := alignedStart(now, r.config().Interval)
	if closeNow {
		cut = now.Unix()
	}
	return r.closeBefore(ctx, max(cut, r.openFrom.Load()), now)
}

// closeBefore ends every open period that started before cut.
func (r *Reporter) closeBefore(ctx context.Context, cut int64, now time.Time) ([]*aggState, error) {
	r.openFrom.Store(cut)
	var closed []*aggState
	err := r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		closed = nil
		if err := tx.Bucket(metaBucket).Put(openFromKey, be64(cut)); err != nil {
			return err
		}
		var keys, values [][]byte
		c := tx.Bucket(openBucket).Cursor()
		for k, v := c.First(); k != nil && fromBE64(k) < cut; k, v = c.Next() {
			keys, values = append(keys, bytes.Clone(k)), append(values, bytes.Clone(v))
		}
		for i, k := range keys {
			st, err := r.closeOne(tx, k, values[i], cut, now)
			if err != nil {
				return err
			}
			if st != nil {
				closed = append(closed, st)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reporting: closing periods: %w", err)
	}
	return closed, nil
}

// closeOne turns one open (period, domain) into a pending report with its
// report_id fixed from now on. The per-period cap is charged later, only
// for a report that is sent (see chargePeriod).
func (r *Reporter) closeOne(tx *bbolt.Tx, key, polJSON []byte, cut int64, now time.Time) (*aggState, error) {
	if err := tx.Bucket(openBucket).Delete(key); err != nil {
		return nil, err
	}
	begin, domain := fromBE64(key), string(key[8:])
	if old, err := getState(tx, key); err != nil || old != nil {
		// Only reachable after a lost openFrom: rows already in a pending
		// report are picked up when it is generated.
		return nil, err
	}
	var pol publishedPolicy
	if err := json.Unmarshal(polJSON, &pol); err != nil {
		// Unreadable: the period cannot be reported; drop its rows.
		return nil, deletePrefix(tx.Bucket(rowsBucket), append(bytes.Clone(key), 0))
	}
	unique, err := randomToken(8)
	if err != nil {
		return nil, err
	}
	st := &aggState{
		Domain: domain, Begin: begin, End: periodEnd(begin, cut, r.config().Interval),
		Unique: unique, State: statePending, Closed: now, Policy: pol,
	}
	st.ID = fmt.Sprintf("%s.%d.%s@%s", unique, begin, domain, r.config().Hostname)
	return st, putState(tx, st)
}
