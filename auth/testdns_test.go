package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

// testTimeout is the resolver's per-attempt timeout in tests: short, since
// the server is local, so that silenced names fail fast.
const testTimeout = 300 * time.Millisecond

// newTestChecker serves zone on 127.0.0.1 and returns a Checker using it.
func newTestChecker(t testing.TB, zone resolvertest.Zone) (*Checker, *resolvertest.Server) {
	t.Helper()
	srv := resolvertest.Start(t, zone)
	res, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(res, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// txtRR returns a TXT record in zone-file syntax, its value split into
// character-strings of at most 255 bytes and escaped (RFC 1035 §5.1).
func txtRR(name, value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, zoneQuote(value[:255]))
		value = value[255:]
	}
	parts = append(parts, zoneQuote(value))
	return fmt.Sprintf("%s 300 IN TXT %s", fqdn(name), strings.Join(parts, " "))
}

func zoneQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// zoneName escapes a domain name for zone-file syntax the way miekg/dns
// prints names, so that the served name is the name queried.
func zoneName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case strings.IndexByte(" ;()\"'@\\$", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func fqdn(name string) string {
	name = zoneName(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
