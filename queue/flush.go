package queue

import "context"

// FlushAndWait makes every deferred entry due now, attempts each entry not
// held once (alongside the workers, if they run: each entry is claimed by
// one of them) and returns once none of them is in delivery any more, so
// that what is left in the queue afterwards is what the attempts left. An
// entry whose attempt was already under way is attempted once more after
// it, if that attempt deferred it. It returns how many entries were
// deferred; the error is ctx's.
func (q *Queue) FlushAndWait(ctx context.Context) (int, error) {
	now := q.now()
	flushed, pending, busy := q.index.flush(now)
	q.storeFlushed(flushed, now)
	if err := q.attemptDue(ctx, pending); err != nil {
		return len(flushed), err
	}
	if len(busy) == 0 {
		return len(flushed), nil
	}
	now = q.now()
	again := q.index.flushIDs(busy, now)
	q.storeFlushed(again, now)
	return len(flushed) + len(again), q.attemptDue(ctx, busy)
}

// attemptDue attempts the due entries and waits until none of ids is in
// delivery.
func (q *Queue) attemptDue(ctx context.Context, ids []string) error {
	q.signal()
	if err := q.RunOnce(ctx); err != nil {
		return err
	}
	return q.index.waitIdle(ctx, ids)
}
