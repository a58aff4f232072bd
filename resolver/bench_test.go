package resolver

import (
	"context"
	"testing"

	"dmarcgate/resolver/resolvertest"
)

// BenchmarkCachedLookup measures what every message pays for each SPF and
// DMARC question once the cache is warm: a positive TXT answer and a
// cached NXDOMAIN.
func BenchmarkCachedLookup(b *testing.B) {
	srv := resolvertest.Start(b, resolvertest.Zone{
		"example.org.": {`example.org. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`},
	})
	c, _ := newTestClient(b, Config{}, srv)
	ctx := context.Background()
	for _, bc := range []struct{ name, domain string }{
		{"txt", "Example.ORG"},
		{"nxdomain", "_dmarc.missing.example.org"},
	} {
		c.LookupTXT(ctx, bc.domain) // warm the cache
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.LookupTXT(ctx, bc.domain)
				}
			})
			if srv.TotalQueries() > 2 {
				b.Fatalf("%d upstream queries: the cache was not used", srv.TotalQueries())
			}
		})
	}
}
