package reporting

import (
	"context"
	"strings"
	"sync"
	"time"

	"dmarcgate/policy"
	"dmarcgate/resolver"
)

// DestVerdict is the outcome of a destination check.
type DestVerdict int

const (
	DestAllowed      DestVerdict = iota // inside the org domain, or authorized
	DestUnauthorized                    // external without authorization: never send
	DestRetry                           // the check failed temporarily: try later
)

// authCacheTTL is how long a definite answer of a destination check is
// kept; authCacheMax bounds the cache.
const (
	authCacheTTL = time.Hour
	authCacheMax = 10000
)

// authorizer checks report destinations (RFC 9990 §3; RFC 9991 uses the
// same rule): an address outside the policy domain's organizational
// domain gets reports only when <policy-domain>._report._dmarc.<dest>
// publishes a TXT record starting with v=DMARC1. Temporary DNS failures
// are never taken as an answer. Shared by aggregate and failure reports.
type authorizer struct {
	res resolver.Resolver
	now func() time.Time

	mu    sync.Mutex
	cache map[string]authEntry
}

type authEntry struct {
	ok      bool
	expires time.Time
}

func newAuthorizer(res resolver.Resolver, now func() time.Time) *authorizer {
	return &authorizer{res: res, now: now, cache: map[string]authEntry{}}
}

// CheckDestination decides whether addr may receive reports about
// policyDomain, whose organizational domain is orgDomain ("" = derive it
// from the public suffix list).
func (r *Reporter) CheckDestination(ctx context.Context, policyDomain, orgDomain, addr string) DestVerdict {
	return r.auth.check(ctx, policyDomain, orgDomain, addr)
}

func (a *authorizer) check(ctx context.Context, policyDomain, orgDomain, addr string) DestVerdict {
	dest := domainOf(addr)
	policyDomain = cleanDomain(policyDomain)
	if dest == "" || policyDomain == "" {
		return DestUnauthorized
	}
	if orgDomain == "" {
		orgDomain = policy.OrgDomainPSL(policyDomain)
	}
	if withinDomain(dest, cleanDomain(orgDomain)) {
		return DestAllowed
	}
	name := policyDomain + "._report._dmarc." + dest
	if v, ok := a.cached(name); ok {
		return v
	}
	txts, err := a.res.LookupTXT(ctx, name)
	switch {
	case err != nil && resolver.IsNotFound(err):
		a.store(name, false)
		return DestUnauthorized
	case err != nil && (resolver.IsTemporary(err) || ctx.Err() != nil):
		return DestRetry
	case err != nil:
		// A permanent failure (malformed answer) is no authorization.
		a.store(name, false)
		return DestUnauthorized
	}
	ok := authorizes(txts)
	a.store(name, ok)
	if ok {
		return DestAllowed
	}
	return DestUnauthorized
}

// authorizes: some record starts with the v=DMARC1 tag (RFC 9990 §3).
func authorizes(txts []string) bool {
	for _, t := range txts {
		tag, _, _ := strings.Cut(t, ";")
		k, v, ok := strings.Cut(tag, "=")
		if ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1" {
			return true
		}
	}
	return false
}

// withinDomain: d is org or one of its subdomains.
func withinDomain(d, org string) bool {
	return org != "" && (d == org || strings.HasSuffix(d, "."+org))
}

func (a *authorizer) cached(name string) (DestVerdict, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.cache[name]
	if !ok || !a.now().Before(e.expires) {
		return 0, false
	}
	if e.ok {
		return DestAllowed, true
	}
	return DestUnauthorized, true
}

func (a *authorizer) store(name string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= authCacheMax {
		clear(a.cache)
	}
	a.cache[name] = authEntry{ok: ok, expires: a.now().Add(authCacheTTL)}
}
