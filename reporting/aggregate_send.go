package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/queue"
)

// Meta keys of report queue entries.
const (
	metaReportID = "report_id"
	metaDomain   = "report_domain"
)

// retryCheck is when a destination check that failed temporarily is tried
// again.
const retryCheck = 15 * time.Minute

// Send closes the periods that have ended (and the open one when
// closeNow), builds each due report once, checks its destinations and
// enqueues it, marking the destinations done in the same commit as the
// queue entry, so that a report is enqueued exactly once however Send is
// interrupted. The queue then delivers, retries and gives up after
// DropAfter. Reports waiting for a destination check are retried by later
// calls.
func (r *Reporter) Send(ctx context.Context, closeNow bool) (Summary, error) {
	var sum Summary
	if !r.config().Enabled {
		return sum, nil
	}
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	closed, err := r.closePeriods(ctx, closeNow)
	if err != nil {
		return sum, err
	}
	sum.Closed = len(closed)
	states, err := r.activeStates()
	if err != nil {
		return sum, err
	}
	fairOrder(states)
	var errs []error
	for _, st := range states {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if err := r.advance(ctx, st, &sum); err != nil {
			r.log.Error("aggregate report", "report_id", st.ID, "domain", st.Domain, "err", err)
			errs = append(errs, err)
		}
	}
	if err := r.prune(ctx); err != nil {
		errs = append(errs, err)
	}
	return sum, errors.Join(errs...)
}

// advance takes one report as far as it goes now.
func (r *Reporter) advance(ctx context.Context, st *aggState, sum *Summary) error {
	if st.State == statePending {
		if r.config().ShipRows {
			return nil // rows wait for ShipClosed; the report comes back by Adopt
		}
		if spent, err := r.periodSpent(st); err != nil || spent {
			if err != nil {
				return err
			}
			return r.capReport(ctx, st) // not worth generating
		}
		if err := r.generate(ctx, st); err != nil {
			return err
		}
		if st.State == stateGenerated {
			sum.Generated++
		}
	}
	if st.State != stateGenerated {
		return nil
	}
	return r.deliver(ctx, st, sum)
}

// activeStates lists the reports not finished: pending or generated.
func (r *Reporter) activeStates() ([]*aggState, error) {
	var out []*aggState
	err := r.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(reportsBucket).ForEach(func(k, v []byte) error {
			st := &aggState{}
			if err := json.Unmarshal(v, st); err != nil {
				r.log.Error("reporting: skipping unreadable report state", "key", fmt.Sprintf("%x", k), "err", err)
				return nil
			}
			if st.State == statePending || st.State == stateGenerated {
				out = append(out, st)
			}
			return nil
		})
	})
	return out, err
}

// deliver decides each open destination of a generated report and
// enqueues one message to all the allowed ones.
func (r *Reporter) deliver(ctx context.Context, st *aggState, sum *Summary) error {
	now := r.now()
	if !st.Retry.IsZero() && now.Before(st.Retry) {
		sum.Deferred++
		return nil
	}
	outcomes := map[string]string{}
	var sendTo []string
	waiting := false
	expired := now.Sub(st.Closed) >= r.config().DropAfter
	for _, addr := range st.open() {
		o, err := r.destOutcome(ctx, st, addr, now)
		if err != nil {
			return err
		}
		switch {
		case o == "" && expired:
			outcomes[addr] = destDropped
		case o == "":
			waiting = true
		case o == destQueued:
			sendTo = append(sendTo, addr)
		default:
			outcomes[addr] = o
		}
	}
	next := r.nextState(st, outcomes, sendTo, waiting, now)
	if len(sendTo) == 0 {
		if err := r.commitState(ctx, st, next, nil); err != nil {
			return err
		}
	} else if err := r.enqueue(ctx, st, next, sendTo); errors.Is(err, errPeriodCapped) {
		return r.capReport(ctx, st)
	} else if err != nil {
		return err
	}
	r.account(st, outcomes, sendTo, waiting, sum)
	*st = *next
	return nil
}

// destOutcome is one destination's fate now: queued (send it), a refusal,
// or "" for a check to retry later.
func (r *Reporter) destOutcome(ctx context.Context, st *aggState, addr string, now time.Time) (string, error) {
	var sup bool
	var today int64
	err := r.db.View(func(tx *bbolt.Tx) error {
		sup = suppressed(tx, addr, now)
		today = fromBE64(tx.Bucket(dailyBucket).Get(dailyKey(now, addr)))
		return nil
	})
	if err != nil {
		return "", err
	}
	if sup {
		return destSuppressed, nil
	}
	switch r.auth.check(ctx, st.Domain, st.Policy.OrgDomain, addr) {
	case DestUnauthorized:
		return destUnauthorized, nil
	case DestRetry:
		return "", nil
	}
	if today >= int64(r.config().MaxPerDestinationPerDay) {
		return destCapped, nil
	}
	return destQueued, nil
}

// nextState is st with the outcomes applied.
func (r *Reporter) nextState(st *aggState, outcomes map[string]string, sendTo []string, waiting bool, now time.Time) *aggState {
	next := *st
	next.Dests = make(map[string]string, len(st.Dests)+len(outcomes)+len(sendTo))
	for a, o := range st.Dests {
		next.Dests[a] = o
	}
	for a, o := range outcomes {
		next.Dests[a] = o
	}
	for _, a := range sendTo {
		next.Dests[a] = destQueued
	}
	next.Retry = time.Time{}
	if waiting {
		next.Retry = now.Add(retryCheck)
	}
	if len(next.open()) == 0 {
		next.State = stateSent
		if !anyQueued(next.Dests) {
			next.State = stateFailed
		}
	}
	return &next
}

func anyQueued(dests map[string]string) bool {
	for _, o := range dests {
		if o == destQueued {
			return true
		}
	}
	return false
}

// commitState writes next if st is still what is stored (same open
// destinations), plus the daily counts of sendTo; a finished report's
// data goes.
func (r *Reporter) commitState(ctx context.Context, st, next *aggState, sendTo []string) error {
	return r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		return r.applyState(tx, st, next, sendTo)
	})
}

func (r *Reporter) applyState(tx *bbolt.Tx, st, next *aggState, sendTo []string) error {
	cur, err := getState(tx, st.key())
	if err != nil {
		return err
	}
	if cur == nil || cur.State != stateGenerated || strings.Join(cur.open(), ",") != strings.Join(st.open(), ",") {
		return errStateChanged
	}
	if len(sendTo) > 0 {
		if err := r.chargePeriod(tx, cur, st); err != nil {
			return err
		}
	}
	now := r.now()
	for _, a := range sendTo {
		if _, err := addCounter(tx.Bucket(dailyBucket), dailyKey(now, a), 1); err != nil {
			return err
		}
	}
	if next.State != stateGenerated {
		if err := tx.Bucket(reportDataBucket).Delete(st.key()); err != nil {
			return err
		}
	}
	return putState(tx, next)
}

// enqueue builds the report message for sendTo and hands it to the queue
// in the same commit as the new state.
func (r *Reporter) enqueue(ctx context.Context, st, next *aggState, sendTo []string) error {
	var gz []byte
	err := r.db.View(func(tx *bbolt.Tx) error {
		gz = bytes.Clone(tx.Bucket(reportDataBucket).Get(st.key()))
		return nil
	})
	if err != nil {
		return err
	}
	if gz == nil {
		return fmt.Errorf("reporting: report data of %s missing", st.ID)
	}
	msg, err := r.aggregateMessage(st, gz, sendTo)
	if err != nil {
		return err
	}
	body := r.q.NewBody()
	if _, err := body.Write(msg); err != nil {
		body.Abort()
		return err
	}
	m := &queue.Message{
		Kind:      queue.KindReport,
		Route:     queue.RouteOutbound,
		From:      r.config().Email,
		To:        sendTo,
		Expire:    r.config().DropAfter,
		Smarthost: r.config().Smarthost,
		NoDSN:     true, // a bounce would come back to our reporting address
		Meta:      map[string]string{metaReportID: st.ID, metaDomain: st.Domain},
	}
	id, err := r.q.Enqueue(ctx, m, body, func(tx *bbolt.Tx) error {
		return r.applyState(tx, st, next, sendTo)
	})
	if err != nil {
		return fmt.Errorf("reporting: enqueueing report %s: %w", st.ID, err)
	}
	r.log.Info("aggregate report queued", "report_id", st.ID, "domain", st.Domain, "queue_id", id,
		"rcpts", strings.Join(sendTo, ","), "rows", st.Rows, "messages", st.Count)
	return nil
}

// aggregateMessage is the report mail: Subject, From and attachment name
// per RFC 9990 §2.5.1, DKIM-signed when configured.
func (r *Reporter) aggregateMessage(st *aggState, gz []byte, to []string) ([]byte, error) {
	receiver := domainOf(r.config().Email)
	m := &ReportMail{
		From: r.config().Email, FromName: r.config().OrgName, To: to,
		Subject:  aggregateSubject(receiver, st),
		Date:     r.now(),
		Hostname: r.config().Hostname,
		Text:     aggregateText(r.config().OrgName, receiver, st),
		Attachments: []Attachment{{
			Name: aggregateFileName(receiver, st), ContentType: "application/gzip", Data: gz,
		}},
	}
	msg, err := m.Build()
	if err != nil {
		return nil, err
	}
	if s := r.dkim(); s != nil {
		return s.sign(msg)
	}
	return msg, nil
}

// account logs and counts the outcomes of one delivery decision.
func (r *Reporter) account(st *aggState, outcomes map[string]string, sendTo []string, waiting bool, sum *Summary) {
	if len(sendTo) > 0 {
		sum.Enqueued++
		sum.Recipients += len(sendTo)
		reportsSent.Add(float64(len(sendTo)))
	}
	if waiting {
		sum.Deferred++
	}
	for addr, o := range outcomes {
		sum.Skipped++
		switch o {
		case destDropped:
			reportsFailed.Inc()
			sum.Dropped++
			r.log.Warn("aggregate report dropped: destination never verified", "report_id", st.ID, "rcpt", addr)
		case destUnauthorized:
			reportsSuppressed.WithLabelValues("unauthorized").Inc()
			r.log.Info("aggregate report not sent: external destination not authorized (RFC 9990 §3)",
				"report_id", st.ID, "domain", st.Domain, "rcpt", addr)
		case destSuppressed:
			reportsSuppressed.WithLabelValues("suppressed").Inc()
			r.log.Info("aggregate report not sent: address suppressed after a bounce", "report_id", st.ID, "rcpt", addr)
		case destCapped:
			reportsSuppressed.WithLabelValues("destination_cap").Inc()
			r.log.Warn("aggregate report not sent: reporting.max_per_destination_per_day reached", "report_id", st.ID, "rcpt", addr)
		}
	}
}

func dailyKey(now time.Time, addr string) []byte {
	return append(be64(dayOf(now)), strings.ToLower(addr)...)
}
