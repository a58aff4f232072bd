package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// attempt delivers one claimed entry once and returns what records the
// outcome (a commit, then the claim is released or the entry forgotten),
// or nil when there was nothing to deliver and the claim is already dealt
// with.
func (q *Queue) attempt(ctx context.Context, id string) (record func()) {
	rec, body, bodyErr, err := q.getWithBody(id)
	if errors.Is(err, ErrNotFound) {
		q.index.forget(id)
		return nil
	}
	if err != nil {
		q.log.Error("queue: reading entry", "id", id, "err", err)
		q.index.release(id, q.now().Add(q.cfg.RetryFirst))
		q.signal() // the dispatcher may sleep past this entry's new time
		return nil
	}
	if rec.Held {
		if body != nil {
			body.close()
		}
		q.index.release(id, rec.NextAttempt)
		q.signal() // the dispatcher may sleep past this entry's new time
		return nil
	}
	return q.deliver(ctx, rec, body, bodyErr)
}

// deliver attempts rec once with its body (closed here) and returns what
// records the outcome.
func (q *Queue) deliver(ctx context.Context, rec *record, body *storedBody, bodyErr error) (record func()) {
	var results []result
	var headers []byte
	if bodyErr != nil {
		q.log.Error("queue: reading body", "id", rec.ID, "err", bodyErr)
		results = deferAll(rec.To, bodyErr)
	} else {
		reader := func() io.Reader { return deliveredReader(rec.Prefix, body.ReaderAt, body.size, rec.Omit) }
		results = q.deliverAll(ctx, rec, reader)
		if needsHeaders(rec, results) {
			headers = readHeaders(reader(), maxDSNHeaders)
		}
		body.close()
	}
	return func() { q.finish(ctx, rec, results, headers) }
}

// deliverAll attempts every destination of rec, logging one line each.
func (q *Queue) deliverAll(ctx context.Context, rec *record, body func() io.Reader) []result {
	var all []result
	for _, t := range q.targets(ctx, rec) {
		start := time.Now()
		res, addr := q.deliverTarget(ctx, rec, t, body)
		q.logAttempt(rec, t, addr, res, time.Since(start))
		all = append(all, res...)
	}
	return all
}

// deliverTarget tries t's addresses in order until one takes a transaction.
func (q *Queue) deliverTarget(ctx context.Context, rec *record, t target, body func() io.Reader) ([]result, string) {
	if t.err != nil {
		return failAll(t.rcpts, t.err), ""
	}
	d := q.dialer(t.tls, rec.Route == RouteRelay || q.cfg.PlaintextFallback)
	var lastErr error
	lastAddr := "" // for the log: the last address that could not be reached
	for i, a := range t.addrs {
		if i >= maxAddrs || ctx.Err() != nil {
			break
		}
		res, err := q.deliverToAddr(ctx, d, t, a, rec, body)
		if err != nil {
			lastErr, lastAddr = err, a.addr
			continue
		}
		return res, a.addr
	}
	if errors.Is(lastErr, errHostBusy) {
		return deferAll(t.rcpts, errHostBusy), ""
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	// Failing to connect or being refused at the greeting is never final.
	return deferAll(t.rcpts, fmt.Errorf("connecting to %s: %w", t.name, lastErr)), lastAddr
}

// deliverToAddr delivers to one address of t within its share of
// connections to that address (for MX hosts).
func (q *Queue) deliverToAddr(ctx context.Context, d *dialer, t target, a hostAddr, rec *record, body func() io.Reader) ([]result, error) {
	if t.capped {
		if !q.hosts.acquire(a.addr) {
			return nil, errHostBusy
		}
		defer q.hosts.release(a.addr)
	}
	key := poolKey{addr: a.addr, serverName: a.serverName, lmtp: t.lmtp, tls: d.tlsConfig != nil}
	res, err := q.deliverTo(ctx, d, key, rec, t.rcpts, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.addr, err)
	}
	return res, nil
}

// deliverTo runs one transaction with key's server, on an idle pooled
// connection when there is one. A reused connection that the server has
// closed meanwhile (EOF or 421 at MAIL) is no delivery failure: the
// transaction is tried once more on a fresh connection. The error is for
// failing to connect. The transaction as a whole has a deadline.
func (q *Queue) deliverTo(ctx context.Context, d *dialer, key poolKey, rec *record, rcpts []string, body func() io.Reader) ([]result, error) {
	deadline := time.Now().Add(q.cfg.TransactionTimeout + transferTime(StageTimeouts{}, rec.Size, q.cfg.MinTransferRate))
	s, reused, err := q.pool.get(ctx, d, key, deadline)
	if err != nil {
		return nil, err
	}
	res, stale := transact(s, rec, rcpts, body, q.cfg.MinTransferRate)
	if stale && reused {
		poolConnections.WithLabelValues("stale").Inc()
		q.pool.put(s)
		if s, err = q.pool.dial(ctx, d, key, deadline); err != nil {
			return nil, err
		}
		res, _ = transact(s, rec, rcpts, body, q.cfg.MinTransferRate)
	}
	q.pool.put(s)
	return res, nil
}

// dialer makes the dialer of a delivery; fallback: after a failed STARTTLS,
// plain text (to the downstream, whose relay.tls is opportunistic; outbound
// only as configured).
func (q *Queue) dialer(useTLS, fallback bool) *dialer {
	d := &dialer{hostname: q.cfg.Hostname, dialTimeout: q.cfg.DialTimeout, timeouts: q.cfg.Timeouts, fallback: fallback}
	if useTLS {
		d.tlsConfig = q.cfg.TLSConfig
	}
	return d
}

func deferAll(rcpts []string, err error) []result {
	out := make([]result, 0, len(rcpts))
	for _, r := range rcpts {
		out = append(out, result{rcpt: r, err: err})
	}
	return out
}

// outcome is what an attempt decided for an entry.
type outcome struct {
	delivered   int
	deferred    []result
	bounced     []result
	interrupted bool // the attempt was aborted by shutdown: not counted
	expired     bool // deferred recipients were given up
}

// settle sorts results, giving up temporary failures of an entry older
// than its expiry.
func (q *Queue) settle(ctx context.Context, rec *record, results []result, now time.Time) outcome {
	var o outcome
	for _, r := range results {
		switch {
		case r.err == nil:
			o.delivered++
		case r.perm:
			o.bounced = append(o.bounced, r)
		default:
			o.deferred = append(o.deferred, r)
		}
	}
	o.interrupted = ctx.Err() != nil
	if !o.interrupted && len(o.deferred) > 0 && now.Sub(rec.Received) >= q.expireOf(&rec.Message) {
		o.expired = true
		for _, r := range o.deferred {
			r.err = &expiredError{age: now.Sub(rec.Received), last: r.err}
			r.perm = true
			o.bounced = append(o.bounced, r)
		}
		o.deferred = nil
	}
	return o
}

// expiredError is a give-up: the entry stayed deferred past its expiry.
type expiredError struct {
	age  time.Duration
	last error
}

func (e *expiredError) Error() string {
	return fmt.Sprintf("gave up after %s in the queue; last error: %v", e.age.Round(time.Second), e.last)
}

func (e *expiredError) Unwrap() error { return e.last }

// wantsDSN: bounces go to the envelope sender, never to the null sender
// and never for a DSN (RFC 3464 §1, no loops), nor when the enqueuer said so.
func wantsDSN(rec *record) bool {
	return rec.From != "" && rec.Kind != KindDSN && !rec.NoDSN
}

// needsHeaders reports whether this attempt may bounce with a DSN, which
// quotes the original headers.
func needsHeaders(rec *record, results []result) bool {
	if !wantsDSN(rec) {
		return false
	}
	for _, r := range results {
		if r.err != nil {
			return true // a temporary failure may be given up
		}
	}
	return false
}

// finish records the outcome in one commit: delivered and bounced
// recipients leave the entry (which goes when none is left), deferred ones
// are rescheduled, and any DSN is enqueued in the same transaction.
func (q *Queue) finish(ctx context.Context, rec *record, results []result, headers []byte) {
	now := q.now()
	o := q.settle(ctx, rec, results, now)
	var dsn *record
	var dsnBody []byte
	if len(o.bounced) > 0 && wantsDSN(rec) {
		dsn, dsnBody = q.buildDSN(rec, o.bounced, headers, now)
	}
	next := q.reschedule(rec, o, now)
	gone, err := q.commitOutcome(rec, dsn, dsnBody)
	if err != nil {
		q.log.Error("queue: recording delivery outcome; delivered recipients may be sent again", "id", rec.ID, "err", err)
		q.index.release(rec.ID, now.Add(q.cfg.RetryFirst))
		q.signal() // the dispatcher may sleep past this entry's new time
		return
	}
	countOutcome(rec, o)
	switch {
	case gone:
		q.index.forget(rec.ID)
		return
	case len(rec.To) == 0:
		if rec.Spooled {
			os.Remove(q.spoolPath(rec.ID))
		}
		q.index.forget(rec.ID)
	default:
		q.index.release(rec.ID, next)
		q.signal() // the dispatcher may sleep past this entry's new time
	}
	q.announce(rec, o, dsn)
}

// reschedule keeps the deferred recipients in rec and sets its next
// attempt, which it returns. A shutdown-interrupted attempt is not counted
// and is due again at once.
func (q *Queue) reschedule(rec *record, o outcome, now time.Time) time.Time {
	rec.To = nil
	for _, r := range o.deferred {
		rec.To = append(rec.To, r.rcpt)
	}
	if len(rec.To) == 0 {
		return now
	}
	next := now
	if onlyHostBusy(o) {
		// Waiting for a free connection is no attempt.
		next = now.Add(hostBusyRetry)
	} else if !o.interrupted {
		rec.Attempts++
		next = now.Add(q.backoff(rec.Attempts))
	}
	rec.LastError = replyText(o.deferred[0].err)
	rec.NextAttempt = next
	return next
}

// announce tells the bounce hook and schedules the DSN, once committed.
func (q *Queue) announce(rec *record, o outcome, dsn *record) {
	if q.cfg.OnPermanentFailure != nil {
		for _, b := range o.bounced {
			q.cfg.OnPermanentFailure(&rec.Message, b.rcpt, b.err)
		}
	}
	if dsn != nil {
		q.log.Info("dsn", "id", dsn.ID, "original", rec.ID, "to", dsn.To[0], "rcpts", len(o.bounced), "expired", o.expired)
		dsnTotal.Inc()
		q.index.track(dsn)
		q.signal()
	}
}

// backoff is the delay before retry number attempts: RetryFirst doubling,
// capped at RetryMax, with ±10% jitter so retries do not move in lockstep.
func (q *Queue) backoff(attempts int) time.Duration {
	d := q.cfg.RetryFirst
	for i := 1; i < attempts && d < q.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, q.cfg.RetryMax)
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return d + jitter
}

func (q *Queue) logAttempt(rec *record, t target, addr string, res []result, d time.Duration) {
	var delivered, deferred, bounced int
	for _, r := range res {
		switch {
		case r.err == nil:
			delivered++
		case r.perm:
			bounced++
		default:
			deferred++
		}
	}
	outcome := "mixed"
	switch len(res) {
	case delivered:
		outcome = "delivered"
	case deferred:
		outcome = "deferred"
	case bounced:
		outcome = "bounced"
	}
	attrs := []slog.Attr{slog.String("id", rec.ID), slog.String("kind", rec.Kind), slog.String("route", string(rec.Route)),
		slog.String("dest", t.name), slog.String("addr", addr), slog.Int("rcpts", len(res)),
		slog.Int("delivered", delivered), slog.Int("deferred", deferred), slog.Int("bounced", bounced),
		slog.String("outcome", outcome)}
	attrs = append(attrs, attemptAttrs(res)...)
	q.log.LogAttrs(context.Background(), slog.LevelInfo, "delivery", append(attrs,
		slog.Int("attempt", rec.Attempts+1), slog.Duration("duration", d.Round(time.Millisecond)))...)
}

// replyText renders an error for logs and DSNs on one line.
func replyText(err error) string {
	if se := smtpError(err); se != nil {
		s := fmt.Sprintf("%d", se.Code)
		if valid(se.EnhancedCode) {
			s += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		return oneLine(s + " " + se.Message)
	}
	return oneLine(err.Error())
}

// oneLine keeps printable ASCII only, so remote text cannot inject header
// lines or terminal escapes.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
}
