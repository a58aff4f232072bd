package main

import (
	"fmt"
	"strings"

	"dmarcgate/smtpd"
)

// arcOutput is the ARC part of `check`: the chain's result and, when a
// trusted sealer's recorded pass changed the disposition, that sealer.
type arcOutput struct {
	Result     string       `json:"result"`
	Reason     string       `json:"reason,omitempty"`
	Sets       int          `json:"sets"`
	OldestPass int          `json:"oldest_pass"`
	Override   *arcOverride `json:"override,omitempty"`
}

// arcOverride names the trusted sealer whose set stood in for DMARC.
type arcOverride struct {
	Sealer   string `json:"sealer"`
	Selector string `json:"selector"`
	Instance int    `json:"instance"`
	ClientIP string `json:"client_ip,omitempty"`
}

func arcJSON(v *smtpd.Verdict) *arcOutput {
	if v.ARC == nil {
		return nil
	}
	a := &arcOutput{Result: string(v.ARC.Status), Reason: v.ARC.Reason, Sets: len(v.ARC.Sets), OldestPass: v.ARC.OldestPass}
	if s := v.Decision.TrustedARC; s != nil {
		a.Override = &arcOverride{s.Sealer, s.Selector, s.Instance, s.ClientIP}
	}
	return a
}

func (a *arcOutput) text() string {
	var b strings.Builder
	b.WriteString(a.Result)
	if a.Reason != "" {
		fmt.Fprintf(&b, " (%s)", a.Reason)
	}
	if a.Result == "pass" {
		fmt.Fprintf(&b, ", %d sets, oldest-pass %d", a.Sets, a.OldestPass)
	}
	if o := a.Override; o != nil {
		fmt.Fprintf(&b, "; DMARC failure delivered: trusted sealer %s (s=%s, i=%d) recorded a pass", o.Sealer, o.Selector, o.Instance)
	}
	return b.String()
}
