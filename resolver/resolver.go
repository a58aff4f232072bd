// Package resolver is dmarcgate's one DNS client: every SPF, DKIM, DMARC, MX
// and report-destination lookup goes through it. It caches answers by TTL,
// caches negative answers (RFC 2308), merges concurrent identical queries and
// keeps NXDOMAIN, NODATA and temporary failures apart in its errors.
// It does not interpret records: that is auth's and policy's job.
package resolver

import (
	"context"
	"errors"
	"net"
)

// Resolver is the narrow interface other packages take in their constructors.
// It is shaped like *net.Resolver (and blitiri spf's DNSResolver) so that
// either can be used; errors are *net.DNSError values whose IsNotFound and
// IsTemporary flags are set, and which unwrap to one of the sentinels below.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Sentinel errors; the *net.DNSError values returned by lookups unwrap to one.
var (
	// ErrNXDomain: the name does not exist (RCODE 3).
	ErrNXDomain = errors.New("resolver: no such domain")
	// ErrNoData: the name exists but has no records of the asked type.
	ErrNoData = errors.New("resolver: no records of that type")
	// ErrTemporary: SERVFAIL, REFUSED, timeout or network failure.
	ErrTemporary = errors.New("resolver: temporary failure")
	// ErrPermanent: a malformed answer or FORMERR/NOTIMP.
	ErrPermanent = errors.New("resolver: permanent failure")
)

// IsNotFound reports whether err means "no such records": NXDOMAIN or NODATA.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNXDomain) || errors.Is(err, ErrNoData)
}

// IsNXDomain reports whether err means the name itself does not exist.
func IsNXDomain(err error) bool { return errors.Is(err, ErrNXDomain) }

// IsTemporary reports whether the lookup may succeed if tried again later.
func IsTemporary(err error) bool {
	if errors.Is(err, ErrTemporary) {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}
