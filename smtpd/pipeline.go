package smtpd

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/auth"
	"dmarcgate/auth/arc"
	"dmarcgate/policy"
)

// Action is what happens to a message after evaluation.
type Action string

const (
	ActionDeliver    Action = "deliver"
	ActionQuarantine Action = "quarantine" // delivered with the quarantine header
	ActionHold       Action = "hold"       // kept in the state dir until released
	ActionReject     Action = "reject"
	ActionTempFail   Action = "tempfail"
	ActionBadFrom    Action = "bad-from"
	ActionMalformed  Action = "malformed"
	ActionTooBig     Action = "too-big" // over max_message_size: refused while read
)

// Policy is the local DMARC configuration the Evaluator applies.
type Policy struct {
	AuthservID       string
	Monitor          bool   // dmarc.mode = "monitor"
	Quarantine       string // "header" or "hold"
	QuarantineHeader string // "Name: value"
	TempFail         bool   // dmarc.on_temperror = "tempfail"
	LegacyPct        string // "testing" or "sample"
	Overrides        []Override
	// TrustedSealers: ARC-Seal d= domains whose recorded pass may stand
	// in for a DMARC failure (arc.trusted_sealers).
	TrustedSealers []string
}

// Evaluator is the decision step at the end of DATA, shared by the server
// and `dmarcgate check` so that both give the same verdict.
type Evaluator struct {
	Checker *auth.Checker
	// ARC validates ARC chains; nil when arc.verify is off.
	ARC    *arc.Verifier
	Policy Policy
	Now    func() time.Time
	Roll   func() int // a number in [0,100) for legacy pct sampling
}

// Transaction is the envelope of one message.
type Transaction struct {
	IP       net.IP
	HELO     string
	MailFrom string
	Rcpts    []string
}

// Verdict is the outcome of Evaluate.
type Verdict struct {
	Action      Action
	FromDomain  string
	SPF         auth.SPFOutcome
	DKIM        []auth.DKIMOutcome
	Discovery   *policy.Discovery
	PolicyErr   error
	Override    *policy.Override
	ARC         *arc.Result // nil when ARC is not verified
	Decision    policy.Decision
	AuthResults string // the whole Authentication-Results field, CRLF-terminated
	Reply       *smtp.SMTPError

	orgTempFailed []string // domains whose organizational-domain walk failed temporarily
	arcResult     *auth.ARCResult
}

// Evaluate applies the DMARC policy of the message's From domain, given the
// SPF, DKIM and ARC evidence gathered while the message streamed in
// (arcRes nil when ARC is not verified).
func (e *Evaluator) Evaluate(ctx context.Context, tx Transaction, header []byte, spf auth.SPFOutcome, dkim []auth.DKIMOutcome, arcRes *arc.Result) *Verdict {
	v := &Verdict{SPF: spf, DKIM: dkim, ARC: arcRes, arcResult: arcAuthResult(arcRes, tx)}
	if hasBareCR(header) {
		// RFC 5322 §2.2 forbids a CR outside CRLF; parsers disagree on it, so
		// the From we evaluate could differ from the one a reader sees.
		v.Action, v.Reply = ActionMalformed, replyBareCR
		v.Decision.Why = "bare CR in the header"
		return v
	}
	fromDomain, _, err := auth.ParseFrom(header)
	if err != nil {
		v.Action, v.Reply = ActionBadFrom, replyBadFrom(errCause(err))
		v.Decision.Why = "no usable From: " + errCause(err) // for the log line's why=
		if e.Policy.Monitor {
			// Monitor mode never refuses on DMARC grounds: deliver, saying
			// DMARC could not be applied.
			v.Action, v.Reply = ActionDeliver, nil
			v.Decision = policy.Decision{Result: policy.PermError, PolicyInForce: policy.ActionNone, Disposition: policy.ActionNone, Why: "no usable From: " + errCause(err)}
			v.AuthResults = e.results(v)
		}
		return v
	}
	v.FromDomain = fromDomain
	in := policy.Input{
		FromDomain: fromDomain,
		OrgDomain: func(d string) string {
			org, temporary := e.Checker.OrgDomainChecked(ctx, d)
			if temporary {
				v.orgTempFailed = append(v.orgTempFailed, d)
			}
			return org
		},
		SPF:       spf.ToPolicy(),
		DKIM:      dkimResults(dkim),
		Monitor:   e.Policy.Monitor,
		LegacyPct: e.Policy.LegacyPct,
	}
	if arcRes != nil {
		in.ARC, in.TrustedSealers = arcRes.Evidence(), e.Policy.TrustedSealers
	}
	if e.Roll != nil {
		in.SampleRoll = e.Roll()
	}
	v.Discovery, v.PolicyErr = e.Checker.Discover(ctx, fromDomain)
	in.Discovery, in.PolicyErr = v.Discovery, v.PolicyErr
	if d := v.Discovery; d != nil && d.Record != nil && d.Record.NP != "" && !strings.EqualFold(fromDomain, d.PolicyDomain) {
		// Only a subdomain of the policy domain can be "non-existent", and
		// only an np= tag makes that matter (without it np inherits sp).
		nx, err := e.Checker.NonExistent(ctx, fromDomain)
		in.FromNonExistent = nx && err == nil
	}
	v.Override = matchOverride(e.Policy.Overrides, fromDomain, tx.IP, e.now())
	in.Override = v.Override
	countOverride(v.Override)
	v.Decision = policy.Evaluate(in)
	auth.ObserveDMARC(v.Decision)
	if s := v.Decision.TrustedARC; s != nil {
		arcOverrides.WithLabelValues(s.Sealer).Inc() // one of the configured sealers
	}
	e.decide(ctx, v)
	v.AuthResults = e.results(v)
	return v
}

func (e *Evaluator) results(v *Verdict) string {
	return auth.Results{
		AuthservID: e.Policy.AuthservID,
		SPF:        v.SPF,
		DKIM:       v.DKIM,
		DMARC:      v.Decision,
		FromDomain: v.FromDomain,
		Policy:     v.Discovery,
		ARC:        v.arcResult,
	}.Header()
}

// decide maps the DMARC decision to an action and, for refusals, a reply.
func (e *Evaluator) decide(ctx context.Context, v *Verdict) {
	d := v.Decision
	switch {
	case d.Result == policy.TempError && e.Policy.TempFail && !e.Policy.Monitor:
		v.Action, v.Reply = ActionTempFail, replyDMARCTempFail(v.FromDomain)
	case d.Disposition != policy.ActionNone && e.Policy.TempFail && e.alignableTempError(ctx, v):
		// A DNS hiccup must not turn into a reject of legitimate mail: the
		// sender retries and the next evaluation decides.
		v.Action, v.Reply = ActionTempFail, replyDMARCTempFail(v.FromDomain)
	case d.Disposition == policy.ActionReject:
		v.Action, v.Reply = ActionReject, replyDMARCReject(v.FromDomain, d.Why)
	case d.Disposition == policy.ActionQuarantine && e.Policy.Quarantine == "hold":
		v.Action = ActionHold
	case d.Disposition == policy.ActionQuarantine:
		v.Action = ActionQuarantine
	default:
		v.Action = ActionDeliver
	}
}

// alignableTempError reports an SPF or DKIM temperror for a domain that
// could have aligned with the From domain. A temperror of an unrelated
// domain cannot change the verdict, and counting it would let a spoofer
// turn every reject into an endless, unreported 451.
func (e *Evaluator) alignableTempError(ctx context.Context, v *Verdict) bool {
	fromOrg := e.Checker.OrgDomain(ctx, v.FromDomain)
	related := func(d string) bool {
		return d != "" && strings.EqualFold(e.Checker.OrgDomain(ctx, strings.ToLower(d)), fromOrg)
	}
	if v.SPF.Result == policy.TempError && related(v.SPF.Domain) {
		return true
	}
	// A domain whose own walk failed aligns only if it sits under the
	// From domain's organizational domain.
	for _, d := range v.orgTempFailed {
		if d = strings.ToLower(d); d == fromOrg || strings.HasSuffix(d, "."+fromOrg) {
			return true
		}
	}
	for _, d := range v.DKIM {
		if d.Result == policy.TempError && related(d.Domain) {
			return true
		}
	}
	return false
}

func dkimResults(outs []auth.DKIMOutcome) []policy.DKIMResult {
	res := make([]policy.DKIMResult, 0, len(outs))
	for _, o := range outs {
		res = append(res, policy.DKIMResult{Domain: o.Domain, Selector: o.Selector, Result: o.Result, Reason: o.Reason})
	}
	return res
}

func (e *Evaluator) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// errCause is the sentinel's text without the package prefix.
func errCause(err error) string {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// hasBareCR reports a CR not followed by LF.
func hasBareCR(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return true
		}
	}
	return false
}
