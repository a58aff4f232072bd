package console

import (
	"sync"
	"time"
)

// Login attempts are limited per client IP and in all, before the
// password is even hashed: a guesser gets a few tries a minute, and a
// crowd of guessers cannot keep the CPU busy with bcrypt.
const (
	perIPBurst   = 10
	perIPEvery   = 30 * time.Second
	globalBurst  = 60
	globalEvery  = time.Second
	maxIPBuckets = 10000
)

type bucket struct {
	tokens float64
	last   time.Time
}

// take refills the bucket and takes a token if there is one.
func (b *bucket) take(now time.Time, burst float64, every time.Duration) bool {
	b.tokens = min(burst, b.tokens+float64(now.Sub(b.last))/float64(every))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type loginLimits struct {
	now    func() time.Time
	mu     sync.Mutex
	global bucket
	perIP  map[string]*bucket
}

func newLoginLimits(now func() time.Time) *loginLimits {
	return &loginLimits{now: now, global: bucket{tokens: globalBurst, last: now()}, perIP: map[string]*bucket{}}
}

// allow takes one attempt for ip; false means refuse without checking.
func (l *loginLimits) allow(ip string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.perIP[ip]
	if b == nil {
		if len(l.perIP) >= maxIPBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: perIPBurst, last: now}
		l.perIP[ip] = b
	}
	if !b.take(now, perIPBurst, perIPEvery) {
		return false
	}
	return l.global.take(now, globalBurst, globalEvery)
}

// sweep forgets the clients whose bucket has refilled: they are as new.
func (l *loginLimits) sweep(now time.Time) {
	for ip, b := range l.perIP {
		if now.Sub(b.last) >= perIPBurst*perIPEvery {
			delete(l.perIP, ip)
		}
	}
	if len(l.perIP) >= maxIPBuckets {
		clear(l.perIP) // under a spread-out flood the global limit still holds
	}
}
