package reporting

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"go.etcd.io/bbolt"

	"dmarcgate/queue"
	"dmarcgate/store"
)

const (
	// maxFailureSendBatch bounds the entries one SendPending handles.
	maxFailureSendBatch = 1000
	// spfLookupTimeout bounds the SPF-DNS lookup of one report.
	spfLookupTimeout = 5 * time.Second
	// failurePruneEvery spaces the clean-ups of the rate-limit counters.
	failurePruneEvery = 10 * time.Minute
)

// Run sends pending failure reports until ctx ends: when Record stores
// one, every SendInterval (for destinations whose check failed
// temporarily), and, while the shared limits of a cluster are
// unreachable, as soon as they may be back (sharedRetry).
func (f *FailureReporter) Run(ctx context.Context) {
	t := time.NewTicker(f.config().SendInterval)
	defer t.Stop()
	for {
		if err := f.SendPending(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("failure reports: sending", "err", err)
		}
		if !f.waitNext(ctx, t.C) {
			return
		}
	}
}

// waitNext waits for the next pass: a wake-up, the ticker, or the retry
// of the shared limits. It reports false when ctx ended.
func (f *FailureReporter) waitNext(ctx context.Context, tick <-chan time.Time) bool {
	var retry <-chan time.Time
	if d := f.sharedRetryIn(); d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		retry = tm.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-tick:
	case <-retry:
	case <-f.wake:
	}
	return true
}

// SendPending checks the destinations of every pending report and queues
// one message per allowed destination, each exactly once: the queue entry
// and the mark "sent" are one commit. Destinations whose check failed
// temporarily stay pending until DropAfter. The error is a storage or
// queue failure, or ctx's.
func (f *FailureReporter) SendPending(ctx context.Context) error {
	f.sendMu.Lock()
	defer f.sendMu.Unlock()
	f.shared.startPass()
	defer f.shared.endPass(f.config().SendInterval)
	var keys [][]byte
	if err := f.db.View(func(tx *bbolt.Tx) error {
		keys = pendingKeys(tx, maxFailureSendBatch)
		return nil
	}); err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.sendEntry(ctx, k); err != nil {
			if errors.Is(err, store.ErrClosed) {
				return err
			}
			errs = append(errs, err) // one entry's trouble does not block the others
		}
	}
	f.housekeeping(ctx)
	return errors.Join(errs...)
}

// sendEntry handles every remaining destination of one pending report.
func (f *FailureReporter) sendEntry(ctx context.Context, key []byte) error {
	var p *pendingFailure
	err := f.db.View(func(tx *bbolt.Tx) (err error) {
		p, err = getPending(tx, key)
		return err
	})
	if errors.Is(err, errPendingGone) {
		return nil
	}
	if err != nil {
		f.log.Error("failure report: dropping unreadable entry", "err", err)
		return f.db.Commit(ctx, func(tx *bbolt.Tx) error { return dropPending(tx, key) })
	}
	now := f.config().Now()
	expired := now.Sub(p.Created) > f.config().DropAfter
	var allowed []string
	for _, dest := range p.remaining() {
		ok, err := f.checkDest(ctx, key, p, dest, now, expired)
		if err != nil {
			return err
		}
		if ok {
			allowed = append(allowed, dest)
		}
	}
	// The shared limits are charged last, for what will be queued.
	if len(allowed) > 0 && f.config().Shared != nil {
		if allowed, err = f.chargeShared(ctx, key, p, allowed, expired); err != nil {
			return err
		}
	}
	if len(allowed) > 0 && p.SPFDomain != "" {
		p.SPFDNS = f.spfDNS(ctx, p.SPFDomain)
	}
	for _, dest := range allowed {
		if err := f.enqueue(ctx, key, p, dest, expired); err != nil {
			return err
		}
	}
	return nil
}

// checkDest applies the shared destination rules to one address: the
// suppression list, then the external-destination check (RFC 9991 §5).
// It reports whether a report may be queued to dest now; one that may
// never be is given up.
func (f *FailureReporter) checkDest(ctx context.Context, key []byte, p *pendingFailure, dest string, now time.Time, expired bool) (bool, error) {
	var supp bool
	if err := f.db.View(func(tx *bbolt.Tx) error {
		supp = suppressed(tx, dest, now)
		return nil
	}); err != nil {
		return false, err
	}
	if supp {
		return false, f.giveUp(ctx, key, p, dest, "suppressed")
	}
	switch f.agg.CheckDestination(ctx, p.PolicyDomain, p.OrgDomain, dest) {
	case DestUnauthorized:
		return false, f.giveUp(ctx, key, p, dest, "unauthorized")
	case DestRetry:
		if expired {
			return false, f.giveUp(ctx, key, p, dest, "dropped")
		}
		return false, nil
	}
	return true, nil
}

// giveUp marks dest handled without a report, gives back its shared
// charge if it holds one, and counts why.
func (f *FailureReporter) giveUp(ctx context.Context, key []byte, p *pendingFailure, dest, outcome string) error {
	err := f.db.Commit(ctx, func(tx *bbolt.Tx) error { return markHandled(tx, key, dest, true) })
	if errors.Is(err, errPendingGone) {
		return nil
	}
	if err != nil {
		return err
	}
	f.releaseShared(ctx, p, dest)
	failureReportsTotal.WithLabelValues(outcome).Inc()
	f.log.Info("failure report not sent", "outcome", outcome, "domain", p.HeaderFrom, "dest", dest)
	return nil
}

// enqueue renders the report for dest and queues it with the mark that
// dest is done, in one commit.
func (f *FailureReporter) enqueue(ctx context.Context, key []byte, p *pendingFailure, dest string, expired bool) error {
	r, err := renderFailureReport(p, dest, f.format())
	if err == nil {
		r.Data, err = f.sign(r.Data)
	}
	if err != nil {
		f.log.Error("failure report: rendering", "dest", dest, "err", err)
		return f.giveUp(ctx, key, p, dest, "dropped")
	}
	m := &queue.Message{
		Kind:     queue.KindFailureReport,
		Route:    queue.RouteOutbound,
		From:     f.config().Email,
		To:       []string{dest},
		UTF8:     !asciiOnly(dest) || !asciiOnly(f.config().Email),
		Body8Bit: r.EightBit,
		Expire:   f.config().DropAfter,
		// The aggregate reports' path: reporting.smarthost, and no DSN,
		// which would only come back to our reporting address.
		Smarthost: f.agg.config().Smarthost,
		NoDSN:     true,
		Meta:      map[string]string{"reported_domain": p.HeaderFrom, "message_id": r.MessageID},
	}
	body := f.q.NewBody()
	if _, err := body.Write(r.Data); err != nil {
		body.Abort()
		return err
	}
	id, err := f.q.Enqueue(ctx, m, body, func(tx *bbolt.Tx) error {
		// The budget is charged here, for an address that passed its checks.
		if err := f.lim().charge(tx, f.config().Now(), dest); err != nil {
			return err
		}
		return markDone(tx, key, dest)
	})
	if errors.Is(err, errPendingGone) {
		return nil
	}
	if errors.Is(err, errFailureLimited) {
		return f.giveUp(ctx, key, p, dest, "rate_limited")
	}
	if err != nil && expired && ctx.Err() == nil {
		f.log.Error("failure report: queueing failed for too long", "dest", dest, "err", err)
		return f.giveUp(ctx, key, p, dest, "dropped")
	}
	if err != nil {
		return fmt.Errorf("reporting: queueing failure report: %w", err)
	}
	failureReportsTotal.WithLabelValues("queued").Inc()
	f.log.Info("failure report queued", "id", id, "domain", p.HeaderFrom, "dest", dest,
		"auth_failure", p.AuthFailure, "source_ip", p.SourceIP)
	return nil
}

// sign adds the aggregate reports' DKIM signature when one is configured,
// so that failure reports are DMARC-aligned too (RFC 9991 §5.1).
func (f *FailureReporter) sign(msg []byte) ([]byte, error) {
	if f.agg == nil {
		return msg, nil
	}
	if s := f.agg.dkim(); s != nil {
		return s.sign(msg)
	}
	return msg, nil
}

func (f *FailureReporter) format() reportFormat {
	rf := reportFormat{
		From: f.config().Email, OrgName: f.config().OrgName, Hostname: f.config().Hostname,
		UserAgent: f.config().UserAgent, Now: f.config().Now(),
	}
	if f.config().Redact {
		rf.Redact = &redactor{key: f.config().RedactKey}
	}
	return rf
}

// spfDNS renders the SPF record of domain for the SPF-DNS field
// (RFC 6591 §3.3): "txt : domain : "record"". "" when it cannot be had.
func (f *FailureReporter) spfDNS(ctx context.Context, domain string) string {
	ctx, cancel := context.WithTimeout(ctx, spfLookupTimeout)
	defer cancel()
	txts, err := f.res.LookupTXT(ctx, domain)
	if err != nil {
		return ""
	}
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(t), "v=spf1") {
			rec := cleanText(t, 800)
			rec = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(rec)
			return "txt : " + domain + ` : "` + rec + `"`
		}
	}
	return ""
}

// housekeeping prunes stale rate-limit counters now and then and updates
// the pending gauge.
func (f *FailureReporter) housekeeping(ctx context.Context) {
	now := f.config().Now()
	if now.Sub(f.lastPrune) >= failurePruneEvery {
		err := f.db.Commit(ctx, func(tx *bbolt.Tx) error { return f.lim().prune(tx, now) })
		if err != nil {
			f.log.Warn("failure reports: pruning rate limits", "err", err)
		} else {
			f.lastPrune = now
		}
	}
	_ = f.db.View(func(tx *bbolt.Tx) error {
		n := 0
		if b := tx.Bucket(failurePendingBucket); b != nil {
			n = b.Stats().KeyN
		}
		failurePending.Set(float64(n))
		return nil
	})
}

// OnPermanentFailure is the queue's hook (queue.Config.OnPermanentFailure)
// for failure reports: a hard bounce (5xx) puts the address on the
// suppression list shared with aggregate reports. Chain it with the
// aggregate Reporter's hook; other kinds of mail are ignored.
func (f *FailureReporter) OnPermanentFailure(m *queue.Message, rcpt string, err error) {
	if m == nil || m.Kind != queue.KindFailureReport {
		return
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code < 500 || se.Code > 599 {
		f.log.Warn("failure report dropped: not delivered in time", "rcpt", rcpt, "err", err)
		return
	}
	f.log.Warn("failure report bounced; suppressing the address", "rcpt", rcpt, "err", err)
	if serr := f.agg.Suppress(context.Background(), rcpt); serr != nil {
		f.log.Error("failure reports: suppressing address failed", "rcpt", rcpt, "err", serr)
	}
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
