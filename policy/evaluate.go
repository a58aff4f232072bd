package policy

import (
	"errors"
	"strconv"
	"strings"
)

// Evaluate decides the DMARC result and disposition of one message
// (RFC 9989 §4.4, §4.10.1, §5.3.4-§5.3.6). It does no I/O except through
// in.OrgDomain, and allocates little: the Why line, and Reasons when the
// disposition differs from the policy in force.
//
// The result is pass when SPF or any DKIM signature passed with an
// identifier aligned with the From domain; fail otherwise. No policy gives
// none, a temporary discovery error temperror, any other error permerror;
// the disposition is then none. On fail the disposition is the policy in
// force (p, sp or np), lowered one level by t=y or legacy pct, then replaced
// by in.Override, then set to none in monitor mode.
func Evaluate(in Input) Decision {
	from := strings.TrimSuffix(in.FromDomain, ".")
	disc := in.Discovery
	if in.PolicyErr != nil || disc == nil || disc.Record == nil || from == "" {
		return noPolicy(from, in.PolicyErr)
	}
	rec := disc.Record
	al := aligner{from: from, fromOrg: disc.OrgDomain, orgOf: in.OrgDomain}
	if al.fromOrg == "" && al.orgOf != nil {
		al.fromOrg = al.orgOf(from)
	}
	var d Decision
	// RFC 9989 §4.4.2: only a passing SPF check yields an identifier.
	d.SPFAligned = in.SPF.Result == Pass && al.aligned(in.SPF.Domain, rec.ASPF)
	// RFC 9989 §4.4.1: any one aligned passing signature is enough.
	for _, k := range in.DKIM {
		if k.Result == Pass && al.aligned(k.Domain, rec.ADKIM) {
			d.DKIMAligned, d.AlignedDKIMDomain = true, k.Domain
			break
		}
	}
	d.PolicyInForce = rec.PolicyFor(from, disc.PolicyDomain, in.FromNonExistent)
	if d.SPFAligned || d.DKIMAligned {
		d.Result, d.Disposition = Pass, ActionNone
		d.Why = passWhy(from, &d)
		return d
	}
	d.Result, d.Disposition = Fail, d.PolicyInForce
	applyTesting(&d, rec, in)
	applyLocal(&d, in, &al, rec)
	d.Why = failWhy(from, &d)
	return d
}

// noPolicy is the decision when no DMARC policy applies or discovery failed.
func noPolicy(from string, err error) Decision {
	d := Decision{Result: None, PolicyInForce: ActionNone, Disposition: ActionNone}
	switch {
	case err == nil || errors.Is(err, ErrNoRecord) && !errors.Is(err, ErrInvalidRecord):
		// RFC 9989 §4.10.1: no record, or several at one name.
		d.Why = "no DMARC policy for " + from
	case errors.Is(err, ErrTemporary):
		d.Result = TempError
		d.Why = "DMARC policy lookup for " + from + " failed temporarily"
	case errors.Is(err, ErrInvalidRecord):
		// RFC 8601 §2.7.1: a syntactically incorrect record is permerror.
		d.Result = PermError
		d.Why = "DMARC record for " + from + " is invalid"
	default:
		d.Result = PermError
		d.Why = "DMARC policy lookup for " + from + " failed"
	}
	return d
}

// applyTesting lowers the disposition for t=y (RFC 9989 §4.7 "t") or the
// legacy pct tag (RFC 7489 §6.3, §6.6.4). Neither changes a policy of none.
func applyTesting(d *Decision, rec *Record, in Input) {
	if d.Disposition == ActionNone {
		return
	}
	switch {
	case rec.T:
		d.lower(ReasonPolicyTestMode, "t=y")
	case !rec.HasPct:
	case in.LegacyPct == "sample":
		if in.SampleRoll >= rec.Pct {
			d.lower(ReasonSampledOut, "pct="+strconv.Itoa(rec.Pct))
		}
	case rec.Pct == 0:
		// pct=0 was the testing signal that t=y replaced (RFC 9989 §A.6).
		d.lower(ReasonPolicyTestMode, "pct=0")
	}
}

// applyLocal applies the receiver's own choices, in this order: a
// matching [[dmarc.override]] (the most specific rule wins outright), else
// a trusted ARC sealer's recorded pass, then monitor mode.
func applyLocal(d *Decision, in Input, al *aligner, rec *Record) {
	if o := in.Override; o != nil {
		d.Disposition = validAction(o.Action)
		d.Reasons = append(d.Reasons, Reason{Type: OverrideReason(o.Reason), Comment: o.Comment})
	} else if d.Disposition != ActionNone {
		if s := trustedARC(in, al, rec); s != nil {
			d.Disposition, d.TrustedARC = ActionNone, s
			d.Reasons = append(d.Reasons, Reason{Type: ReasonTrustedForwarder, Comment: arcComment(s)})
		}
	}
	if in.Monitor {
		d.Disposition = ActionNone
		d.Reasons = append(d.Reasons, Reason{Type: ReasonLocalPolicy, Comment: "monitor mode"})
	}
}

func (d *Decision) lower(t ReasonType, comment string) {
	d.Disposition = NextLower(d.Disposition)
	d.Reasons = append(d.Reasons, Reason{Type: t, Comment: comment})
}

// OverrideReason maps a configured override reason to its RFC 9990
// policy_evaluated reason type; unknown words give "other".
func OverrideReason(s string) ReasonType {
	switch t := ReasonType(strings.ToLower(s)); t {
	case ReasonForwarded, ReasonMailingList, ReasonTrustedForwarder, ReasonLocalPolicy:
		return t
	}
	return ReasonOther
}

func validAction(a Action) Action {
	switch a {
	case ActionQuarantine, ActionReject:
		return a
	}
	return ActionNone
}

// aligner tests Identifier Alignment with the From (Author) domain.
type aligner struct {
	from, fromOrg string
	orgOf         func(string) string
}

// aligned reports whether an authenticated domain is aligned with the
// From domain: identical for strict mode, or sharing the Organizational
// Domain for relaxed mode (RFC 9989 §3.2.10, §4.4; case-insensitive).
func (a *aligner) aligned(domain string, mode Alignment) bool {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return false
	}
	if strings.EqualFold(domain, a.from) {
		return true
	}
	if mode == Strict || a.fromOrg == "" {
		return false
	}
	if a.orgOf == nil {
		// No organizational-domain function: a name at or under the From
		// domain's Organizational Domain is taken to share it.
		return isSubdomainOrSelf(domain, a.fromOrg)
	}
	return sameDomain(a.orgOf(domain), a.fromOrg)
}

func passWhy(from string, d *Decision) string {
	switch {
	case d.SPFAligned && d.DKIMAligned:
		return "DMARC pass for " + from + ": SPF and DKIM aligned"
	case d.SPFAligned:
		return "DMARC pass for " + from + ": SPF aligned"
	}
	return "DMARC pass for " + from + ": DKIM aligned (d=" + d.AlignedDKIMDomain + ")"
}

func failWhy(from string, d *Decision) string {
	const notAligned = "; SPF and DKIM not aligned"
	if len(d.Reasons) == 0 {
		return "DMARC policy of " + from + " is " + string(d.PolicyInForce) + notAligned
	}
	r := d.Reasons[len(d.Reasons)-1]
	why := r.Comment
	if why == "" {
		why = string(r.Type)
	}
	return "DMARC policy of " + from + " is " + string(d.PolicyInForce) + notAligned +
		"; disposition " + string(d.Disposition) + " (" + why + ")"
}
