package smtpd

import (
	"net"
	"strings"
	"time"

	"dmarcgate/policy"
)

// Override is a local exception to a sender's DMARC policy
// ([[dmarc.override]]): mail from a trusted forwarder's network or for a
// mailing-list domain gets Action instead of what the policy asks.
type Override struct {
	Domain   string       // From domain, matching itself and subdomains; "" = any
	Networks []*net.IPNet // client networks; empty = any
	Action   policy.Action
	Reason   string
	Comment  string
	Expires  time.Time // zero = never
}

// Matches reports whether the override applies to this message now.
func (o *Override) Matches(fromDomain string, ip net.IP, now time.Time) bool {
	if !o.Expires.IsZero() && now.After(o.Expires) {
		return false
	}
	if o.Domain != "" && fromDomain != o.Domain && !strings.HasSuffix(fromDomain, "."+o.Domain) {
		return false
	}
	if len(o.Networks) == 0 {
		return true
	}
	for _, n := range o.Networks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func matchOverride(list []Override, fromDomain string, ip net.IP, now time.Time) *policy.Override {
	for i := range list {
		if o := &list[i]; o.Matches(fromDomain, ip, now) {
			return &policy.Override{Action: o.Action, Reason: o.Reason, Comment: o.Comment}
		}
	}
	return nil
}
