package reporting

import (
	"testing"
	"time"
)

// TestSharedRetryDelay: the retry while the shared limits are away starts
// at minSharedRetry, doubles up to the send interval, and ends with the
// first pass that reaches them.
func TestSharedRetryDelay(t *testing.T) {
	var s sharedRetry
	ceiling := 5 * time.Second
	var got []time.Duration
	for range 5 {
		s.startPass()
		s.down = true
		s.endPass(ceiling)
		got = append(got, s.delay)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	s.startPass()
	s.endPass(ceiling)
	if s.delay != 0 {
		t.Fatalf("delay %v after a pass that reached the shared limits, want 0", s.delay)
	}
	// A send interval below the minimum never makes it spin.
	s.startPass()
	s.down = true
	s.endPass(time.Millisecond)
	s.startPass()
	s.down = true
	s.endPass(time.Millisecond)
	if s.delay < minSharedRetry {
		t.Fatalf("delay %v below the minimum %v", s.delay, minSharedRetry)
	}
}
