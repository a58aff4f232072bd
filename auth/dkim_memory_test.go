package auth

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
)

type testBudget struct{ limit, used atomic.Int64 }

func (b *testBudget) Take(n int64) bool {
	if b.used.Add(n) <= b.limit.Load() {
		return true
	}
	b.used.Add(-n)
	return false
}
func (b *testBudget) Give(n int64) { b.used.Add(-n) }

// A header copy beyond 64 KiB is charged to the shared budget; past the
// budget the header is cut and marked over budget, and Release gives all
// of it back.
func TestHeaderCopyChargedToBudget(t *testing.T) {
	b := &testBudget{}
	b.limit.Store(200 << 10)
	c := &Checker{HeaderMemory: b}
	line := "X-Filler: " + strings.Repeat("f", 988) + "\r\n"
	small := c.NewDKIMVerifier(context.Background(), nil)
	_, _ = small.Write([]byte("From: a@b.example\r\n" + strings.Repeat(line, 150) + "\r\nbody\r\n"))
	if small.HeaderOverBudget() || b.used.Load() == 0 || b.used.Load() > 200<<10 {
		t.Fatalf("a 150 KB header: over budget %v, charged %d", small.HeaderOverBudget(), b.used.Load())
	}
	big := c.NewDKIMVerifier(context.Background(), nil)
	_, _ = big.Write([]byte("From: a@b.example\r\n" + strings.Repeat(line, 400)))
	if !big.HeaderOverBudget() || !big.HeaderTooLarge() {
		t.Fatal("a 400 KB header past the budget is not marked over budget")
	}
	small.Release()
	big.Release()
	if got := b.used.Load(); got != 0 {
		t.Fatalf("budget after Release: %d, want 0", got)
	}
}
