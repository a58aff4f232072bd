package resolvertest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Zone maps a name to records in zone-file syntax, e.g.
//
//	Zone{"example.org.": {
//		`example.org. 300 IN TXT "v=spf1 -all"`,
//		"@ 300 IN MX 10 mx.example.org.",
//	}}
//
// Each record's own owner name decides where it lives; the key is the
// origin for relative owners ("@", "www"). A missing TTL means 3600.
type Zone map[string][]string

// ParseZoneFile reads zone-file text (RFC 1035 §5, as accepted by miekg/dns,
// without $INCLUDE) relative to origin and groups its records by owner.
func ParseZoneFile(text, origin string) (Zone, error) {
	zp := newParser(text, origin)
	zone := Zone{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		// The parser also takes records a zone cannot serve: no owner
		// (leading blank before any name), or no data (RFC 2136 update
		// form); each must read back as it will be served.
		text := rr.String()
		if _, err := dns.NewRR(text); err != nil || rr.Header().Name == "" {
			return nil, fmt.Errorf("resolvertest: zone file: incomplete record %q", strings.TrimSpace(text))
		}
		owner := dns.CanonicalName(rr.Header().Name)
		zone[owner] = append(zone[owner], text)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("resolvertest: zone file: %w", err)
	}
	return zone, nil
}

// defaultTTL is the TTL of records written without one.
const defaultTTL = 3600

// newParser reads zone-file text; $INCLUDE stays refused (the default).
func newParser(text, origin string) *dns.ZoneParser {
	zp := dns.NewZoneParser(strings.NewReader(text), dns.Fqdn(origin), "")
	zp.SetDefaultTTL(defaultTTL)
	return zp
}

// parseRR parses exactly one record, relative names taken from origin.
func parseRR(text, origin string) (dns.RR, error) {
	zp := newParser(text, origin)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("resolvertest: record %q: %w", text, err)
	}
	if !ok {
		return nil, fmt.Errorf("resolvertest: record %q: no record", text)
	}
	if _, more := zp.Next(); more {
		return nil, fmt.Errorf("resolvertest: %q holds more than one record", text)
	}
	if rr.Header().Class != dns.ClassINET {
		return nil, errors.New("resolvertest: only class IN records are served")
	}
	rr.Header().Name = dns.CanonicalName(rr.Header().Name)
	return rr, nil
}
