package policy

import (
	"errors"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// OrgDomainPSL returns the Organizational Domain by the public suffix list
// (RFC 7489 §3.2): the public suffix plus one label. A public suffix is its
// own Organizational Domain. The result is lower-case, without trailing dot,
// and "" for a name with an empty label (".example.com", "a..b"), which has
// none. Names are expected in A-label form (RFC 9989 §5.3.1): the list
// matches U-labels only by chance.
func OrgDomainPSL(domain string) string {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if d == "" {
		return ""
	}
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err == nil {
		return org
	}
	// The error means either a public suffix or an empty label.
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return d
	}
	return ""
}

// DiscoverPSL finds the policy the RFC 7489 way (§6.6.3): query
// _dmarc.<fromDomain>; when it holds no DMARC record, query
// _dmarc.<Organizational Domain> by the public suffix list. Several
// records, or an unusable one, at the From domain end discovery with no
// policy (steps 5 and 6). Errors are as for Discover.
func DiscoverPSL(fromDomain string, lookup LookupFunc, isNotFound, isTemporary func(error) bool) (*Discovery, error) {
	domain, err := normalizeDomain(fromDomain)
	if err != nil {
		return nil, err
	}
	d := &Discovery{OrgDomain: OrgDomainPSL(domain), Method: MethodPSL}
	w := walker{lookup: lookup, isNotFound: isNotFound, isTemporary: isTemporary}
	for _, name := range [...]string{domain, d.OrgDomain} {
		if name == domain && w.queries > 0 {
			break // the From domain is its own Organizational Domain
		}
		rec, err := w.queryPSL(name)
		d.Queries = w.queries
		switch {
		case rec != nil:
			d.Record, d.PolicyDomain = rec, name
			return d, nil
		case err != nil:
			return nil, err
		}
	}
	return nil, ErrNoRecord
}

// queryPSL is query, except that several or unusable records are an error.
func (w *walker) queryPSL(name string) (*Record, error) {
	txts, err := w.fetch(name)
	if err != nil || txts == nil {
		return nil, err
	}
	rec, err := SelectRecord(txts)
	switch {
	case errors.Is(err, ErrInvalidRecord):
		return nil, &noPolicyErr{cause: err}
	case errors.Is(err, ErrMultiple):
		return nil, err
	}
	return rec, nil
}

// noPolicyErr is an unusable record that ends discovery: it matches
// ErrNoRecord (no policy applies) and its cause (ErrInvalidRecord).
type noPolicyErr struct{ cause error }

func (e *noPolicyErr) Error() string        { return e.cause.Error() }
func (e *noPolicyErr) Unwrap() error        { return e.cause }
func (e *noPolicyErr) Is(target error) bool { return target == ErrNoRecord }
