package reporting

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"go.etcd.io/bbolt"
)

// SharedLimits charges the failure-report limits for all the instances of
// a cluster together (package cluster), so a burst spread over several MX
// hosts gets the reports one host alone would send. Each instance still
// charges its own limits at end of DATA, where nothing may wait on a
// network database; the shared ones are charged here, off the SMTP path.
type SharedLimits interface {
	// AdmitFailure returns the destinations of a report about a message
	// from ip for domain that the shared limits admit, and charges them.
	AdmitFailure(ctx context.Context, domain, ip string, dests []string, at time.Time,
		perSource time.Duration, perDestDay, perHour int) ([]string, error)
}

// chargeShared asks the shared limits about p's remaining destinations
// and gives up those refused. While the shared store is unreachable p
// waits (it is dropped after DropAfter, as for a destination check).
func (f *FailureReporter) chargeShared(ctx context.Context, key []byte, p *pendingFailure, expired bool) error {
	dests := p.remaining()
	admitted, err := f.config().Shared.AdmitFailure(ctx, p.HeaderFrom, p.SourceIP, dests, p.Created,
		f.lim().perSource, f.lim().perDestDay, f.lim().perHour)
	if err != nil {
		f.log.Warn("failure report: shared limits unavailable; the report waits", "domain", p.HeaderFrom, "err", err)
		if expired {
			for _, d := range dests {
				if err := f.giveUp(ctx, key, p, d, "dropped"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, d := range dests {
		if !slices.Contains(admitted, d) {
			if err := f.giveUp(ctx, key, p, d, "rate_limited"); err != nil {
				return err
			}
			p.Done = append(p.Done, d)
		}
	}
	p.Shared = true
	return f.db.Commit(ctx, func(tx *bbolt.Tx) error {
		cur, err := getPending(tx, key)
		if err != nil {
			return nil // gone meanwhile: nothing left to send
		}
		cur.Shared = true
		v, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		return tx.Bucket(failurePendingBucket).Put(key, v)
	})
}
