// Package auth gathers the evidence DMARC needs: SPF (RFC 7208), DKIM
// (RFC 6376, RFC 8463, RFC 8301), DMARC policy discovery through the resolver
// (RFC 9989 §4.10), the author domain of the From header field, and the
// Authentication-Results header field (RFC 8601).
//
// It decides nothing: the DMARC verdict is policy.Evaluate's, and mapping
// verdicts to SMTP replies is smtpd's. Every DNS query goes through the
// resolver.Resolver handed to the Checker.
package auth

import (
	"errors"
	"fmt"

	"dmarcgate/resolver"
)

// Organizational domain methods (configuration dmarc.org_domain).
const (
	OrgTreeWalk = "treewalk" // RFC 9989 §4.10 DNS tree walk (the default)
	OrgPSL      = "psl"      // public suffix list, RFC 7489 style
)

// DefaultMaxSignatures is how many DKIM signatures one message gets verified
// when Checker.MaxSignatures is zero. Each costs a DNS query and a public-key
// operation, so a sender must not be able to make us do unbounded work.
const DefaultMaxSignatures = 5

// ErrOrgMethod is returned for an organizational domain method other than
// OrgTreeWalk or OrgPSL.
var ErrOrgMethod = errors.New("auth: unknown organizational domain method")

// Checker runs the checks. The zero values of OrgMethod and MaxSignatures
// mean OrgTreeWalk and DefaultMaxSignatures. A Checker is safe for
// concurrent use once built.
type Checker struct {
	Resolver      resolver.Resolver
	OrgMethod     string
	MaxSignatures int
	// HeaderMemory, when set, is charged for each DKIM verifier's header
	// copy beyond 64 KiB (dkim_memory.go); nil: no shared bound.
	HeaderMemory MemoryBudget
}

// New returns a Checker, refusing an unknown organizational domain method.
func New(res resolver.Resolver, orgMethod string, maxSignatures int) (*Checker, error) {
	if res == nil {
		return nil, errors.New("auth: nil resolver")
	}
	c := &Checker{Resolver: res, OrgMethod: orgMethod, MaxSignatures: maxSignatures}
	if _, err := c.orgMethod(); err != nil {
		return nil, err
	}
	if maxSignatures < 0 {
		return nil, fmt.Errorf("auth: negative signature limit %d", maxSignatures)
	}
	return c, nil
}

func (c *Checker) orgMethod() (string, error) {
	switch c.OrgMethod {
	case "", OrgTreeWalk:
		return OrgTreeWalk, nil
	case OrgPSL:
		return OrgPSL, nil
	}
	return "", fmt.Errorf("%w %q", ErrOrgMethod, c.OrgMethod)
}

func (c *Checker) maxSignatures() int {
	if c.MaxSignatures <= 0 {
		return DefaultMaxSignatures
	}
	return c.MaxSignatures
}
