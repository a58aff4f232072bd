package reporting

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/policy"
	"dmarcgate/queue"
	"dmarcgate/resolver"
	"dmarcgate/store"
)

// FailureReporter decides, stores and sends DMARC failure reports
// (RFC 9991). Record runs in each message's commit and only decides;
// Run and SendPending check destinations and queue the reports. It does
// not evaluate DMARC (policy does) nor deliver mail (queue does).
type FailureReporter struct {
	cur    atomic.Pointer[FailureConfig] // swapped whole by Reload
	db     *store.DB
	q      *queue.Queue
	res    resolver.Resolver
	agg    *Reporter
	limits atomic.Pointer[failureLimits] // swapped with cur
	log    *slog.Logger
	wake   chan struct{}

	sendMu    sync.Mutex  // one SendPending at a time
	lastPrune time.Time   // guarded by sendMu
	shared    sharedRetry // guarded by sendMu
}

// NewFailureReporter returns a reporter storing its state in db and sending
// through q. res serves the SPF-DNS field and, through agg, the check of
// external destinations; agg lends its suppression list and sender.
func NewFailureReporter(db *store.DB, q *queue.Queue, res resolver.Resolver, agg *Reporter, cfg FailureConfig) (*FailureReporter, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if db == nil || q == nil || res == nil || agg == nil {
		return nil, errors.New("reporting: NewFailureReporter needs a database, a queue, a resolver and the aggregate Reporter")
	}
	f := &FailureReporter{
		db: db, q: q, res: res, agg: agg,
		log:  cfg.Logger,
		wake: make(chan struct{}, 1),
	}
	f.cur.Store(&cfg)
	f.limits.Store(limitsOf(&cfg))
	return f, nil
}

// Record decides at end of DATA whether ev deserves a failure report and,
// if so, returns the change that stores it (and charges the rate limits)
// inside the message's own commit. It does no DNS and no I/O. The
// returned function never fails the message's commit: a report problem is
// logged, not turned into a refused message. nil means nothing to store.
func (f *FailureReporter) Record(ev *Event) func(tx *bbolt.Tx) error {
	var body func() []byte
	if ev != nil && ev.Original != nil {
		body = func() []byte { return ev.Original(maxReportedBody) }
	}
	return f.RecordWithBody(ev, body)
}

// maxReportedBody bounds the original body copied into a report.
const maxReportedBody = 1 << 20

// RecordWithBody is Record for a caller that can supply the message body:
// with include_body, body is called once a report is due (never
// otherwise) and its first MiB goes into the report as message/rfc822.
// Without a body, or with include_body off, the report carries the
// header alone (text/rfc822-headers).
func (f *FailureReporter) RecordWithBody(ev *Event, body func() []byte) func(tx *bbolt.Tx) error {
	if ev == nil || ev.Discovery == nil || ev.Discovery.Record == nil {
		return nil
	}
	rec := ev.Discovery.Record
	dests, _ := MailtoDestinations(rec.RUF)
	// RFC 9991 §2: ruf= of a record with psd=y is not used.
	if len(dests) == 0 || rec.PSD == 'y' {
		return nil
	}
	trigger, due := dueByFO(rec, ev.Decision, ev.SPF, ev.DKIM)
	if !due {
		return nil
	}
	hdr := parseOriginalHeader(ev.Header)
	if why := exclusion(ev, f.config().Email, hdr); why != "" {
		f.log.Debug("no failure report", "reason", why, "domain", ev.HeaderFrom)
		return nil
	}
	if !f.config().Enabled {
		failureReportsTotal.WithLabelValues("disabled").Inc()
		return nil
	}
	p := f.pending(ev, trigger, dests)
	// Copy the body only for a report the per-source limit will not drop
	// anyway (a burst from one source would otherwise copy every message).
	if f.config().IncludeBody && body != nil && !f.sourceLimited(p) {
		if b := body(); len(b) > 0 {
			p.Body = b[:min(len(b), maxReportedBody)]
		}
	}
	return func(tx *bbolt.Tx) error {
		f.store(tx, p)
		return nil
	}
}

// sourceLimited is a read-only look at the per-source limit for p.
func (f *FailureReporter) sourceLimited(p *pendingFailure) bool {
	limited := false
	_ = f.db.View(func(tx *bbolt.Tx) error {
		limited = f.lim().sourceLimited(tx, p.Created, p.HeaderFrom, p.SourceIP)
		return nil
	})
	return limited
}

// store charges the limits and keeps p, in tx; metrics and the wake-up
// happen only once tx is committed (fn may run in several attempts).
func (f *FailureReporter) store(tx *bbolt.Tx, p *pendingFailure) {
	v, err := f.lim().admit(tx, p.Created, p.HeaderFrom, p.OrgDomain, p.SourceIP, p.Dest)
	if err != nil {
		f.log.Error("failure report: rate-limit state", "err", err)
		return
	}
	if len(v.Admitted) == 0 {
		tx.OnCommit(func() { failureReportsTotal.WithLabelValues("rate_limited").Add(float64(len(p.Dest))) })
		return
	}
	stored := *p
	stored.Dest = v.Admitted
	if err := putPending(tx, &stored); err != nil {
		f.log.Error("failure report: storing", "err", err)
		return
	}
	tx.OnCommit(func() {
		if n := len(p.Dest) - len(v.Admitted); n > 0 {
			failureReportsTotal.WithLabelValues("rate_limited").Add(float64(n))
		}
		f.signal()
	})
}

// pending gathers from ev what the report will show.
func (f *FailureReporter) pending(ev *Event, t failureTrigger, dests []string) *pendingFailure {
	d, disc := ev.Decision, ev.Discovery
	from := cleanDomain(ev.HeaderFrom)
	p := &pendingFailure{
		Created:           f.config().Now(),
		Arrival:           ev.Time,
		SourceIP:          ipString(ev.SourceIP),
		SourcePort:        ev.SourcePort,
		EnvelopeFrom:      cleanText(ev.EnvelopeFrom, 512),
		HeaderFrom:        from,
		PolicyDomain:      cleanDomain(disc.PolicyDomain),
		OrgDomain:         cleanDomain(disc.OrgDomain),
		AuthFailure:       t.AuthFailure,
		Option:            t.Option,
		IdentityAlignment: identityAlignment(d),
		AuthResults:       authResultsValue(ev.AuthResults),
		DMARCResult:       string(d.Result),
		PolicyInForce:     string(d.PolicyInForce),
		Disposition:       string(d.Disposition),
		DeliveryResult:    arfDeliveryResult(d),
		QueueID:           cleanText(ev.QueueID, 64),
		Header:            ev.Header,
		Dest:              dests,
	}
	if p.Arrival.IsZero() {
		p.Arrival = p.Created
	}
	for _, r := range ev.EnvelopeTo {
		p.EnvelopeTo = append(p.EnvelopeTo, cleanText(r, 512))
	}
	if p.OrgDomain == "" {
		p.OrgDomain = policy.OrgDomainPSL(from)
	}
	rec := disc.Record
	if k, ok := reportedSignature(ev.DKIM, t, from, p.OrgDomain, rec.ADKIM); ok {
		p.DKIMDomain, p.DKIMSelector = cleanDomain(k.Domain), cleanText(k.Selector, 255)
	}
	// SPF-DNS for an SPF failure of an aligned identifier (looked up later).
	if ev.SPF.Result == policy.Fail && alignsWithFrom(ev.SPF.Domain, from, p.OrgDomain, rec.ASPF) {
		p.SPFDomain = cleanDomain(ev.SPF.Domain)
	}
	return p
}

// reportedSignature picks the signature whose DKIM-* fields the report
// carries: the one that failed for a DKIM failure report (fo=d), else a
// failed signature of an aligned identifier (RFC 9991 §4).
func reportedSignature(dkim []policy.DKIMResult, t failureTrigger, from, org string, mode policy.Alignment) (policy.DKIMResult, bool) {
	if t.Option == "d" {
		return firstFailedSignature(dkim)
	}
	for _, k := range dkim {
		if signatureFailed(k) && alignsWithFrom(k.Domain, from, org, mode) {
			return k, true
		}
	}
	return policy.DKIMResult{}, false
}

// authResultsValue strips the field name and line end from our
// Authentication-Results field and unfolds it (see oneLineField).
func authResultsValue(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if name, rest, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Authentication-Results") {
		s = rest
	}
	return oneLineField("Authentication-Results", s)
}

// signal wakes Run without blocking.
func (f *FailureReporter) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}
