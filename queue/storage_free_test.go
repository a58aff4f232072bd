package queue

import (
	"testing"
	"time"
)

// The free space is looked up once per freeSpaceTTL, not on every MAIL.
func TestFreeSpaceLookedUpOncePerSecond(t *testing.T) {
	dir := t.TempDir()
	var f freeSpace
	t0 := time.Unix(1000, 0)
	first, ok := f.bytes(dir, t0)
	if !ok || first <= 0 {
		t.Skipf("no free-space lookup on this system (%d, %v)", first, ok)
	}
	f.free.Store(42) // what a lookup within the second must not replace
	if got, _ := f.bytes(dir, t0.Add(freeSpaceTTL-time.Millisecond)); got != 42 {
		t.Errorf("within the second: %d, want the remembered 42", got)
	}
	if got, _ := f.bytes(dir, t0.Add(freeSpaceTTL)); got == 42 {
		t.Error("after a second the free space was not looked up again")
	}
}
