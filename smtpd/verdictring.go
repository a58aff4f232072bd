package smtpd

import (
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/console/verdicts"
	"dmarcgate/policy"
)

// VerdictSink receives the metadata of every decided message (the
// console's ring of recent verdicts). Add must not block or do I/O: it
// runs before the reply.
type VerdictSink interface {
	Add(*verdicts.Record)
}

// noteVerdict hands the decided message's log-line fields to the sink.
func (s *session) noteVerdict(v *Verdict, reply *smtp.SMTPError, size int64) {
	sink := s.srv.Verdicts
	if sink == nil || reply == nil {
		return
	}
	rec := &verdicts.Record{
		Time: time.Now(), ClientIP: s.ip.String(), HELO: s.helo(), MailFrom: s.from, Rcpts: len(s.rcpts), Size: size,
		FromDomain: v.FromDomain, SPF: string(v.SPF.Result), SPFDomain: v.SPF.Domain, SPFReason: v.SPF.Err,
		DMARC: string(v.Decision.Result), Policy: string(v.Decision.PolicyInForce),
		Disposition: string(v.Decision.Disposition), Action: string(v.Action), Reply: reply.Code,
		Why: v.Decision.Why, AuthResults: strings.TrimRight(v.AuthResults, "\r\n"),
		Outcome: outcomeOf(v.Action, reply.Code),
	}
	if rec.Disposition == "" {
		rec.Disposition = string(policy.ActionNone)
	}
	for _, d := range v.DKIM {
		s := d.Domain + "=" + string(d.Result)
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
		rec.DKIM = append(rec.DKIM, s)
	}
	if v.ARC != nil {
		rec.ARC, rec.ARCReason = string(v.ARC.Status), v.ARC.Reason
	}
	if o := v.Override; o != nil {
		rec.Override = strings.TrimSpace(string(o.Action) + " (" + o.Reason + ") " + o.Comment)
	}
	if reply.Code == 250 {
		rec.QueueID, _ = strings.CutPrefix(reply.Message, "OK queued as ")
	}
	sink.Add(rec)
}

// outcomeOf says what the client was told, in the console's four words.
func outcomeOf(a Action, code int) string {
	switch {
	case code >= 500:
		return verdicts.Rejected
	case code >= 400:
		return verdicts.TempFailed
	case a == ActionQuarantine || a == ActionHold:
		return verdicts.Quarantined
	}
	return verdicts.Accepted
}
