package resolver

import (
	"sync"
	"testing"
	"time"

	"dmarcgate/resolver/resolvertest"
)

// testTimeout keeps tests against silent servers short.
const testTimeout = 200 * time.Millisecond

// fakeClock is an injectable clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestClient returns a client asking servers in order, with a fake
// clock and short timeouts unless cfg says otherwise.
func newTestClient(t testing.TB, cfg Config, servers ...*resolvertest.Server) (*Client, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, s.Addr())
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = testTimeout
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}
