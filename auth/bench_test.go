package auth

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// BenchmarkDKIMVerifier measures what a signed message costs the DKIM
// path once its key is cached: a 4 KiB body, RSA-2048, relaxed/relaxed,
// written in the pieces the SMTP layer reads; streamed to the library, and
// verified at Close from a buffer as smtpd does.
func BenchmarkDKIMVerifier(b *testing.B) {
	key, _ := testKeys()
	c, _ := newTestChecker(b, resolvertest.Zone{
		"s1._domainkey.a.example.": {txtRR("s1._domainkey.a.example", keyRecord(b, key.Public()))},
	})
	body := strings.Repeat("All work and no play makes Jack a dull boy, a line of 64 bytes.\r\n", 64)
	msg := []byte(sign(b, strings.Replace(plainMessage, "Hello Bob.\r\n", body, 1), key, "a.example", "s1"))
	for _, mode := range []string{"streamed", "kept"} {
		b.Run(mode, func(b *testing.B) {
			var kept bytes.Buffer
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				var buf MessageBuffer
				if mode == "kept" {
					kept.Reset()
					buf = &kept
				}
				v := c.NewDKIMVerifier(context.Background(), buf)
				for p := msg; len(p) > 0; {
					n := min(len(p), 4096)
					v.Write(p[:n])
					if buf != nil {
						kept.Write(p[:n])
					}
					p = p[n:]
				}
				outs, err := v.Close()
				if err != nil || len(outs) != 1 || outs[0].Result != policy.Pass {
					b.Fatalf("outcomes %+v, %v", outs, err)
				}
			}
		})
	}
}
