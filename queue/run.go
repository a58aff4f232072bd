package queue

import (
	"context"
	"sync"
	"time"
)

// maxIdle bounds how long the dispatcher sleeps, so metrics stay fresh and
// clock steps are noticed.
const maxIdle = 15 * time.Second

// Start runs the dispatcher and the delivery workers until Stop. Every
// stored entry is resumed, including ones a crash interrupted
// mid-delivery: they are due again at once. When ctx ends, no new
// delivery starts, but those in flight finish (Stop bounds them).
func (q *Queue) Start(ctx context.Context) {
	r := &q.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return
	}
	r.started = true
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	workCtx, stopWork := context.WithCancel(ctx)
	r.stopDelivery, r.stopWork = stopDelivery, stopWork
	relay, outbound := make(chan string), make(chan string)
	r.wake = make(chan struct{}, 1)
	r.wg = &sync.WaitGroup{}
	r.wg.Add(1 + q.cfg.Workers + q.cfg.OutboundWorkers)
	go q.dispatch(workCtx, r.wg, lanes{relay: relay, outbound: outbound}, r.wake)
	finishing := make(chan struct{}, 4*(q.cfg.Workers+q.cfg.OutboundWorkers))
	for i := 0; i < q.cfg.Workers; i++ {
		go q.worker(workCtx, deliverCtx, r.wg, relay, q.fresh, finishing)
	}
	for i := 0; i < q.cfg.OutboundWorkers; i++ {
		go q.worker(workCtx, deliverCtx, r.wg, outbound, q.freshOutbound, finishing)
	}
}

// Stop stops taking new work and waits for deliveries in flight. When ctx
// ends first, those deliveries are aborted (their recipients stay queued,
// due again at once) and ctx's error is returned.
func (q *Queue) Stop(ctx context.Context) error {
	r := &q.run
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return nil
	}
	r.started = false
	stopWork, stopDelivery, wg := r.stopWork, r.stopDelivery, r.wg
	r.mu.Unlock()

	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	defer q.pool.closeIdle()
	select {
	case <-done:
		stopDelivery()
		return nil
	case <-ctx.Done():
	}
	stopDelivery()
	// Aborted deliveries only need to record their state; give them a moment.
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	return ctx.Err()
}

// signal wakes the dispatcher without blocking.
func (q *Queue) signal() {
	q.run.mu.Lock()
	wake := q.run.wake
	q.run.mu.Unlock()
	if wake == nil {
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// dispatch hands due entries to idle workers of their lane, sleeping until
// the next one is due or a signal arrives. Relay entries wait for a relay
// worker; originated ones that find every outbound worker busy are parked,
// so that they never stand in the way of relay mail (see lanes).
func (q *Queue) dispatch(ctx context.Context, wg *sync.WaitGroup, l lanes, wake <-chan struct{}) {
	defer wg.Done()
	defer func() { l.releaseParked(q) }()
	for {
		id, wait := q.index.claim(q.now())
		if id != "" {
			if !l.hand(ctx, q, id) {
				return
			}
			continue
		}
		q.updateGauges()
		if wait <= 0 || wait > maxIdle {
			wait = maxIdle
		}
		if !l.idle(ctx, wake, wait) {
			return
		}
	}
}

// worker delivers entries until workCtx ends: those the dispatcher hands
// it, and fresh ones Enqueue hands it directly. It records each outcome in
// the background and goes on with the next entry, so that waiting for a
// commit does not idle it; finishing bounds how many outcomes wait.
func (q *Queue) worker(workCtx, deliverCtx context.Context, wg *sync.WaitGroup, work <-chan string, fresh <-chan freshEntry, finishing chan struct{}) {
	defer wg.Done()
	for {
		var record func()
		select {
		case id := <-work:
			record = q.attempt(deliverCtx, id)
		case f := <-fresh:
			record = q.deliver(deliverCtx, f.rec, inMemoryBody(f.body), nil)
		case <-workCtx.Done():
			return
		}
		if record == nil {
			continue
		}
		finishing <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-finishing; wg.Done() }()
			record()
		}()
	}
}

// maxRunOnceRounds bounds RunOnce's passes over entries created while it
// runs (DSNs of bounces, for instance).
const maxRunOnceRounds = 5

// RunOnce attempts every due entry once, synchronously, for one-shot
// commands when no server runs. Entries it creates on the way (DSNs) are
// attempted too. Delivery failures are recorded in the entries, not
// returned; the error is ctx's.
func (q *Queue) RunOnce(ctx context.Context) error {
	defer q.pool.closeIdle()
	tried := map[string]bool{}
	for round := 0; round < maxRunOnceRounds; round++ {
		var ids []string
		for _, id := range q.index.dueIDs(q.now()) {
			if !tried[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return ctx.Err()
		}
		sem := make(chan struct{}, q.cfg.Workers)
		var wg sync.WaitGroup
		for _, id := range ids {
			tried[id] = true
			if ctx.Err() != nil {
				break
			}
			if !q.index.claimID(id) {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if record := q.attempt(ctx, id); record != nil {
					record()
				}
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Flush makes every deferred entry due now and wakes the workers; it
// returns how many entries were deferred. The new times are also stored,
// so a later Start or RunOnce sees them.
func (q *Queue) Flush() int {
	now := q.now()
	flushed, _, _ := q.index.flush(now)
	q.signal()
	q.storeFlushed(flushed, now)
	return len(flushed)
}

// storeFlushed stores the retry times flush set in memory.
func (q *Queue) storeFlushed(flushed []string, now time.Time) {
	if len(flushed) == 0 {
		return
	}
	err := q.updateEntries(context.Background(), flushed, func(rec *record) bool {
		rec.NextAttempt = now
		return true
	})
	if err != nil {
		// The schedule in memory is flushed all the same.
		q.log.Warn("queue: storing flushed retry times", "err", err)
	}
}

func (q *Queue) updateGauges() {
	s := q.index.stats()
	queueDepth.Set(float64(s.Depth))
	quarantineHeld.Set(float64(s.Held))
	if s.Oldest.IsZero() {
		queueOldestAge.Set(0)
		return
	}
	queueOldestAge.Set(q.now().Sub(s.Oldest).Seconds())
}
