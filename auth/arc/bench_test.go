package arc

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkVerifySealed: one set sealed with RSA 2048 on a 4 KB message,
// its key cached by the resolver after the first round.
func BenchmarkVerifySealed(b *testing.B) {
	list := newHop(b, "lists.example", false)
	v, _ := serveHops(b, list)
	body := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789ab\r\n", 52)
	msg := []byte(list.addSet(strings.Replace(plainMessage, "Hello list.\r\n", body, 1), "spf=pass smtp.mailfrom=a.example; dkim=pass header.d=a.example; dmarc=pass header.from=a.example", "none"))
	ctx := context.Background()
	if r := v.Verify(ctx, msg); r.Status != Pass {
		b.Fatal(r.Reason)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := v.Verify(ctx, msg); r.Status != Pass {
			b.Fatal(r.Reason)
		}
	}
}
