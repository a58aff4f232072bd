package reporting

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/internal/ipkey"
)

// SharedLimits charges the failure-report limits for all the instances of
// a cluster together (package cluster), so a burst spread over several MX
// hosts gets the reports one host alone would send. Each instance still
// charges its own limits at end of DATA, where nothing may wait on a
// network database; the shared ones are charged here, off the SMTP path,
// only for destinations that passed their checks: a report that goes
// nowhere spends none of the shared budget.
type SharedLimits interface {
	// AdmitFailure returns the destinations of c that the shared limits
	// admit, and charges them.
	AdmitFailure(ctx context.Context, c FailureCharge) ([]string, error)
	// ReleaseFailure gives back what AdmitFailure charged for c.Dests, for
	// a report that was not sent to them after all.
	ReleaseFailure(ctx context.Context, c FailureCharge) error
}

// FailureCharge is one report's charge against the shared limits: one
// report per Domain and source IP (an IPv6 one by its prefix, as the
// local limit keys it) per PerSource, PerDestDay per address
// and UTC day, PerHour in all per clock hour (counted at At).
type FailureCharge struct {
	Domain, IP string
	Dests      []string
	At         time.Time
	PerSource  time.Duration
	PerDestDay int
	PerHour    int
	// Source: the per-source limit is part of this charge. It is left
	// out once an earlier charge of the same report paid it, and on a
	// release while another destination of the report still holds it.
	Source bool
}

func (f *FailureReporter) sharedCharge(p *pendingFailure, dests []string) FailureCharge {
	l := f.lim()
	return FailureCharge{
		Domain: p.HeaderFrom, IP: ipkey.Key(p.SourceIP, l.v6Prefix), Dests: dests, At: p.Created,
		PerSource: l.perSource, PerDestDay: l.perDestDay, PerHour: l.perHour,
		Source: len(p.Charged) == 0,
	}
}

// chargeShared asks the shared limits about dests, which passed their
// checks and are about to be queued; it gives up those refused and
// returns those admitted, recorded in p.Charged. While the shared store
// is unreachable it returns none: p waits (and is dropped after
// DropAfter, as for a destination check).
func (f *FailureReporter) chargeShared(ctx context.Context, key []byte, p *pendingFailure, dests []string, expired bool) ([]string, error) {
	if p.Shared { // charged whole by an older version
		return dests, nil
	}
	var todo []string
	for _, d := range dests {
		if !slices.Contains(p.Charged, d) {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 {
		return dests, nil
	}
	if f.shared.down {
		// Asked already in this pass: the other reports wait as well.
		return nil, f.sharedUnavailable(ctx, key, p, dests, expired)
	}
	admitted, err := f.config().Shared.AdmitFailure(ctx, f.sharedCharge(p, todo))
	if err != nil {
		f.log.Warn("failure reports: shared limits unavailable; reports wait", "err", err)
		f.shared.down = true
		return nil, f.sharedUnavailable(ctx, key, p, dests, expired)
	}
	if len(admitted) > 0 {
		if err := f.recordCharged(ctx, key, p, admitted); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, d := range dests {
		if slices.Contains(p.Charged, d) {
			out = append(out, d)
		} else if err := f.giveUp(ctx, key, p, d, "rate_limited"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sharedUnavailable lets p wait for the shared store, or drops its
// destinations once it has waited too long.
func (f *FailureReporter) sharedUnavailable(ctx context.Context, key []byte, p *pendingFailure, dests []string, expired bool) error {
	if !expired {
		return nil
	}
	for _, d := range dests {
		if err := f.giveUp(ctx, key, p, d, "dropped"); err != nil {
			return err
		}
	}
	return nil
}

// recordCharged adds dests to p.Charged, in p and in its stored entry, so
// that a later pass neither charges them again nor forgets to give them
// back.
func (f *FailureReporter) recordCharged(ctx context.Context, key []byte, p *pendingFailure, dests []string) error {
	p.Charged = append(p.Charged, dests...)
	return f.db.Commit(ctx, func(tx *bbolt.Tx) error {
		cur, err := getPending(tx, key)
		if err != nil {
			return nil // gone meanwhile: nothing left to send
		}
		cur.Charged = p.Charged
		return updatePending(tx, key, cur)
	})
}

// releaseShared gives back the shared charge of dest when p holds one: the
// report is not sent there after all. The per-source charge goes back with
// the last destination that held it. A failure is logged: the slot is
// then spent, as before this existed, and no report is lost.
func (f *FailureReporter) releaseShared(ctx context.Context, p *pendingFailure, dest string) {
	if f.config().Shared == nil || !slices.Contains(p.Charged, dest) {
		return
	}
	p.Charged = slices.DeleteFunc(slices.Clone(p.Charged), func(d string) bool { return d == dest })
	c := f.sharedCharge(p, []string{dest})
	c.Source = len(p.Charged) == 0 // queued destinations stay in Charged
	if err := f.config().Shared.ReleaseFailure(ctx, c); err != nil {
		f.log.Warn("failure report: giving back a shared limit charge", "domain", p.HeaderFrom, "dest", dest, "err", err)
	}
}

// Retrying the shared limits: a report that waits for them (the store was
// unreachable) is due again after a short delay that doubles while the
// store stays away, from minSharedRetry up to SendInterval, so that it
// goes out within moments of the store's return without a pass per
// report or a busy loop during a long outage.
const minSharedRetry = time.Second

// sharedRetry is that state, guarded by FailureReporter.sendMu. down is
// set by the first failed charge of a pass; the other reports of the pass
// then wait without asking again.
type sharedRetry struct {
	down  bool
	delay time.Duration // after the last pass; 0: nothing waits for the store
	mu    sync.Mutex    // guards delay for Run, which reads it outside sendMu
}

func (s *sharedRetry) startPass() { s.down = false }

func (s *sharedRetry) endPass(ceiling time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.down:
		s.delay = 0
	case s.delay == 0:
		s.delay = minSharedRetry
	default:
		s.delay = min(2*s.delay, max(ceiling, minSharedRetry))
	}
}

// sharedRetryIn is how long until the reports waiting for the shared
// limits are due again; 0 when none waits.
func (f *FailureReporter) sharedRetryIn() time.Duration {
	f.shared.mu.Lock()
	defer f.shared.mu.Unlock()
	return f.shared.delay
}
