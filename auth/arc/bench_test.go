package arc

import (
	"context"
	"crypto/sha256"
	"fmt"
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

// BenchmarkBodyHash: relaxed SHA-256 of a 4 KB and a 1 MB body, the work
// DKIM (go-msgauth's verifier) and ARC each do for one signature.
func BenchmarkBodyHash(b *testing.B) {
	line := "abcdefghijklmnopqrstuvwxyz 0123456789  abcdefghijklmnopqrstuvwxyz0123456789ab\r\n"
	for _, size := range []int{4 << 10, 1 << 20} {
		body := []byte(strings.Repeat(line, size/len(line)))
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for range b.N {
				h := NewBodyHasher(Relaxed, sha256.New(), -1)
				_, _ = h.Write(body)
				_ = h.Sum()
			}
		})
	}
}
