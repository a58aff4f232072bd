package auth

import (
	"context"
	"errors"
	"net"

	"dmarcgate/policy"
	"dmarcgate/resolver"
)

// Discover finds the DMARC policy for an author domain (RFC 9989 §4.10):
// the DNS tree walk, or the public suffix list when the Checker is set up
// for it. Errors are policy's: policy.ErrNoRecord when no record applies,
// or a lookup error that resolver.IsTemporary classifies.
func (c *Checker) Discover(ctx context.Context, fromDomain string) (*policy.Discovery, error) {
	method, err := c.orgMethod()
	if err != nil {
		return nil, err
	}
	lookup := c.txtLookup(ctx)
	if method == OrgPSL {
		return policy.DiscoverPSL(fromDomain, lookup, resolver.IsNotFound, resolver.IsTemporary)
	}
	return policy.Discover(fromDomain, lookup, resolver.IsNotFound, resolver.IsTemporary)
}

// OrgDomain returns the organizational domain of domain (RFC 9989 §4.10.2),
// used for relaxed alignment. When the tree walk cannot finish (a DNS
// failure), it returns domain itself, so that only exact matches align.
// The resolver caches the walk's queries.
func (c *Checker) OrgDomain(ctx context.Context, domain string) string {
	org, _ := c.OrgDomainChecked(ctx, domain)
	return org
}

// OrgDomainChecked is OrgDomain that also says whether the walk failed
// temporarily, so that a caller can answer 451 rather than decide on an
// alignment it could not establish.
func (c *Checker) OrgDomainChecked(ctx context.Context, domain string) (org string, temporary bool) {
	method, err := c.orgMethod()
	if err != nil {
		return domain, false
	}
	if method == OrgPSL {
		return policy.OrgDomainPSL(domain), false
	}
	org, err = policy.OrgDomainTreeWalk(domain, c.txtLookup(ctx), resolver.IsNotFound, resolver.IsTemporary)
	if err != nil || org == "" {
		return domain, err != nil && resolver.IsTemporary(err)
	}
	return org, false
}

func (c *Checker) txtLookup(ctx context.Context) policy.LookupFunc {
	return func(name string) ([]string, error) {
		return c.Resolver.LookupTXT(ctx, name)
	}
}

// NonExistent reports whether an author domain does not exist, for np=
// (RFC 9989 §3.2.10, with the RFC 8020 meaning of NXDOMAIN). The MX query
// and the address queries must all answer NXDOMAIN: any answer of NOERROR,
// with or without records, shows the name exists, and is believed first
// since wrongly applying np= is the worse mistake. A temporary failure
// with no such proof gives an error that resolver.IsTemporary recognizes.
func (c *Checker) NonExistent(ctx context.Context, domain string) (bool, error) {
	_, err := c.Resolver.LookupMX(ctx, domain)
	if exists(err) {
		return false, nil
	}
	firstErr := err
	_, err = c.Resolver.LookupIPAddr(ctx, domain)
	if exists(err) {
		return false, nil
	}
	for _, e := range []error{firstErr, err} {
		if !resolver.IsNXDomain(e) {
			return false, e
		}
	}
	return true, nil
}

// exists reports an answer that proves the name exists: records, or
// NODATA (NOERROR with no records of the type).
func exists(err error) bool {
	if err == nil {
		return true
	}
	if resolver.IsNXDomain(err) {
		return false
	}
	if resolver.IsNotFound(err) {
		return true
	}
	// A bare not-found error that does not unwrap to the resolver's
	// sentinels cannot tell NXDOMAIN from NODATA; assume the name exists.
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound && !resolver.IsTemporary(err)
}
