package queue

import (
	"context"
	"time"
)

// Delivery runs in two lanes with their own workers: relay mail to the
// downstream (Config.Workers) and mail the gateway originates, DSNs and
// reports, to outside hosts (Config.OutboundWorkers). A hostile or slow
// outside host can hold every outbound worker; it never holds a relay one.

// maxParked bounds the originated entries the dispatcher holds claimed
// while every outbound worker is busy; past it they are put back for a
// while (not counted as an attempt).
const maxParked = 4096

// parkedRetry is how long an entry put back for want of a parking place
// waits before the dispatcher looks at it again.
const parkedRetry = 5 * time.Second

// lanes is the dispatcher's view of the two lanes.
type lanes struct {
	relay    chan<- string
	outbound chan<- string
	parked   []string // claimed originated entries waiting for a worker
}

// laneOf tells which lane an entry goes to; an entry that cannot be read
// goes to the relay lane, whose attempt reports the problem.
func (q *Queue) laneOf(id string) Route {
	rec, err := q.get(id)
	if err != nil {
		return RouteRelay
	}
	return rec.Route
}

// hand gives a claimed entry to its lane: a relay entry waits for a relay
// worker (feeding outbound workers meanwhile), an originated one is parked
// when no outbound worker is free. false when ctx ended; the entry is then
// released.
func (l *lanes) hand(ctx context.Context, q *Queue, id string) bool {
	if q.laneOf(id) == RouteOutbound {
		l.park(q, id)
		l.feed()
		return true
	}
	for {
		out, next := l.head()
		select {
		case l.relay <- id:
			return true
		case out <- next:
			l.parked = l.parked[1:]
		case <-ctx.Done():
			q.index.release(id, q.now())
			return false
		}
	}
}

// park queues an originated entry for the next free outbound worker.
func (l *lanes) park(q *Queue, id string) {
	if len(l.parked) >= maxParked {
		q.index.release(id, q.now().Add(parkedRetry))
		return
	}
	l.parked = append(l.parked, id)
}

// head is the channel and entry for feeding the first parked entry; a nil
// channel (never ready) when none is parked.
func (l *lanes) head() (chan<- string, string) {
	if len(l.parked) == 0 {
		return nil, ""
	}
	return l.outbound, l.parked[0]
}

// feed hands parked entries to outbound workers that are free now.
func (l *lanes) feed() {
	for len(l.parked) > 0 {
		select {
		case l.outbound <- l.parked[0]:
			l.parked = l.parked[1:]
		default:
			return
		}
	}
}

// idle waits for a wake-up, wait, or ctx's end, feeding parked entries to
// outbound workers as they free up. false when ctx ended.
func (l *lanes) idle(ctx context.Context, wake <-chan struct{}, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		out, next := l.head()
		select {
		case out <- next:
			l.parked = l.parked[1:]
			continue
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
		}
		return ctx.Err() == nil
	}
}

// releaseParked puts parked entries back in the schedule, due at once.
func (l *lanes) releaseParked(q *Queue) {
	now := q.now()
	for _, id := range l.parked {
		q.index.release(id, now)
	}
	l.parked = nil
}
