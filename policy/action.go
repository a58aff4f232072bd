package policy

import "strings"

// NextLower returns the policy one level below a: reject gives quarantine,
// quarantine gives none, anything else none (RFC 9989 §4.7 "t";
// RFC 7489 §6.6.4 for pct sampling).
func NextLower(a Action) Action {
	if a == ActionReject {
		return ActionQuarantine
	}
	return ActionNone
}

// PolicyFor returns the Domain Owner Assessment Policy that this record,
// found at policyDomain, sets for mail from fromDomain (RFC 9989 §4.10.1):
// p for the policy domain itself; for a subdomain, np when the subdomain
// does not exist (RFC 9989 §3.2.13: NXDOMAIN, RFC 8020), else sp, each
// falling back to p when absent.
func (r *Record) PolicyFor(fromDomain, policyDomain string, nonExistent bool) Action {
	p := r.P
	if p == "" {
		p = ActionNone
	}
	if sameDomain(fromDomain, policyDomain) {
		return p
	}
	if nonExistent && r.NP != "" {
		return r.NP
	}
	if r.SP != "" {
		return r.SP
	}
	return p
}

// PolicyTag names the tag PolicyFor took the policy from: "p", "sp" or "np".
func (r *Record) PolicyTag(fromDomain, policyDomain string, nonExistent bool) string {
	switch {
	case sameDomain(fromDomain, policyDomain) || r.PolicyFallback:
		return "p"
	case nonExistent && r.NP != "":
		return "np"
	case r.SP != "":
		return "sp"
	}
	return "p"
}

// FOHas reports whether the fo tag requests failure-report option opt
// ("0", "1", "d" or "s"; RFC 9989 §4.7). A record without fo has "0".
// Reporters honour fo only when the record has ruf (§4.7 "fo").
func (r *Record) FOHas(opt string) bool {
	if len(r.FO) == 0 {
		return opt == "0"
	}
	for _, o := range r.FO {
		if strings.EqualFold(o, opt) {
			return true
		}
	}
	return false
}
