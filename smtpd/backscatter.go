package smtpd

import (
	"dmarcgate/auth"
	"dmarcgate/policy"
)

// noBounce reports whether a bounce of this message must not go to its
// MAIL FROM, which is then likely forged and the bounce backscatter to a
// bystander: SPF failed for it, or the message failed DMARC and SPF does
// not vouch for the MAIL FROM (a mailing list's own bounce address that
// passes SPF still gets its bounces).
func noBounce(v *Verdict) bool {
	spfPassed := v.SPF.Scope == auth.ScopeMailFrom && v.SPF.Result == policy.Pass
	switch {
	case v.SPF.Scope == auth.ScopeMailFrom && v.SPF.Result == policy.Fail:
		return true
	case v.Decision.Result == policy.Fail && !spfPassed:
		return true
	}
	return false
}
