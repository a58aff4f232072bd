package reporting

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"go.etcd.io/bbolt"
)

// The per-period budget (reporting.max_per_period) is charged once per
// report, in the commit that enqueues it: a report that goes nowhere (an
// external destination that never authorised it, a suppressed or capped
// address) costs nothing. Reports take their turn round robin across
// organisational domains, so that many domains of one organisation, or
// many domains sorting early, cannot spend the budget another needs.

// errPeriodCapped: the report's period has spent its budget.
var errPeriodCapped = errors.New("reporting.max_per_period reached")

// fairOrder sorts reports round robin across organisational domains: the
// first report of each organisation, then the second of each, and so on;
// within a round by organisation, then domain, for a stable order.
func fairOrder(states []*aggState) {
	org := func(st *aggState) string {
		if st.Policy.OrgDomain != "" {
			return st.Policy.OrgDomain
		}
		return st.Domain
	}
	slices.SortStableFunc(states, func(a, b *aggState) int {
		if c := compareStrings(org(a), org(b)); c != 0 {
			return c
		}
		return compareStrings(a.Domain, b.Domain)
	})
	round := make(map[*aggState]int, len(states))
	seen := map[string]int{}
	for _, st := range states {
		round[st] = seen[org(st)]
		seen[org(st)]++
	}
	slices.SortStableFunc(states, func(a, b *aggState) int { return round[a] - round[b] })
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// periodKey is the budget counter of st's period: by its own start, which
// every report of the period shares (openPeriod). A period that `reports
// send` closed early is a period of its own, with its own budget, though
// it starts within the same aligned interval as the next.
func (r *Reporter) periodKey(st *aggState) []byte {
	return periodCountKey(st.Begin)
}

// periodSpent reports whether st's period has no budget left.
func (r *Reporter) periodSpent(st *aggState) (bool, error) {
	var n int64
	err := r.db.View(func(tx *bbolt.Tx) error {
		n = int64(fromBE64(tx.Bucket(metaBucket).Get(r.periodKey(st))))
		return nil
	})
	return n >= int64(r.config().MaxPerPeriod), err
}

// chargePeriod takes st's share of the budget in tx, the first time st is
// enqueued; errPeriodCapped when none is left.
func (r *Reporter) chargePeriod(tx *bbolt.Tx, cur, st *aggState) error {
	if anyQueued(cur.Dests) {
		return nil // charged when its first destinations were enqueued
	}
	n, err := addCounter(tx.Bucket(metaBucket), r.periodKey(st), 1)
	if err != nil {
		return err
	}
	if n > int64(r.config().MaxPerPeriod) {
		return errPeriodCapped
	}
	return nil
}

// capDeleteBatch bounds the rows one transaction deletes when a report is
// capped: the database has one writer, and message commits wait behind it.
const capDeleteBatch = 1000

// capReport gives up st for its period's budget: its rows go, a batch per
// transaction (a crash in between leaves the report pending, and capped
// again: the period's count is durable), then its data, and it is marked.
func (r *Reporter) capReport(ctx context.Context, st *aggState) error {
	prefix := append(bytes.Clone(st.key()), 0)
	for more := true; more; {
		err := r.db.Commit(ctx, func(tx *bbolt.Tx) (err error) {
			more, err = deletePrefixUpTo(tx.Bucket(rowsBucket), prefix, capDeleteBatch)
			return err
		})
		if err != nil {
			return err
		}
	}
	err := r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(reportDataBucket).Delete(st.key()); err != nil {
			return err
		}
		capped := *st
		capped.State, capped.LastErr = stateCapped, errPeriodCapped.Error()
		return putState(tx, &capped)
	})
	if err != nil {
		return err
	}
	reportsSuppressed.WithLabelValues("period_cap").Inc()
	r.log.Warn("aggregate report not sent: reporting.max_per_period reached",
		"domain", st.Domain, "begin", st.Begin, "max_per_period", r.config().MaxPerPeriod)
	st.State = stateCapped
	return nil
}

// deletePrefixUpTo deletes at most limit keys with prefix; more reports
// whether any are left.
func deletePrefixUpTo(b *bbolt.Bucket, prefix []byte, limit int) (more bool, err error) {
	c := b.Cursor()
	for n := 0; ; n++ {
		k, _ := c.Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return false, nil
		}
		if n == limit {
			return true, nil
		}
		if err := c.Delete(); err != nil {
			return false, err
		}
	}
}
