package resolver

import (
	"context"
	"net"
	"testing"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"

	"dmarcgate/resolver/resolvertest"
)

// TestBlitiriSPFClassifiesErrors checks the contract that matters most:
// blitiri spf reads our errors by type assertion and must tell "no
// record" (none) from "try later" (temperror).
func TestBlitiriSPFClassifiesErrors(t *testing.T) {
	srv := resolvertest.Start(t, resolvertest.Zone{
		"pass.test.":      {`@ 60 IN TXT "v=spf1 a:host.pass.test mx -all"`},
		"host.pass.test.": {"@ 60 IN A 192.0.2.10"},
		"nodata.test.":    {"@ 60 IN A 192.0.2.11"},
	})
	srv.Fail("broken.test", dns.RcodeServerFailure)
	c, _ := newTestClient(t, Config{}, srv)
	tests := []struct {
		domain string
		ip     string
		want   spf.Result
	}{
		{"pass.test", "192.0.2.10", spf.Pass},
		{"pass.test", "192.0.2.99", spf.Fail},
		{"missing.test", "192.0.2.10", spf.None},
		{"nodata.test", "192.0.2.10", spf.None},
		{"broken.test", "192.0.2.10", spf.TempError},
	}
	for _, tc := range tests {
		got, err := spf.CheckHostWithSender(net.ParseIP(tc.ip), "helo.test", "user@"+tc.domain,
			spf.WithResolver(c), spf.WithContext(context.Background()))
		if got != tc.want {
			t.Errorf("%s from %s: %s (%v), want %s", tc.domain, tc.ip, got, err, tc.want)
		}
	}
}
