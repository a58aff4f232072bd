package queue

import (
	"context"
	"sync"
	"time"
)

// poolKey names the destination a connection was opened for.
type poolKey struct {
	addr       string
	serverName string
	lmtp       bool
	tls        bool // STARTTLS was tried when opening
}

// pool keeps client connections open between deliveries, so that a busy
// destination (the relay, a smarthost) sees one session carry many
// transactions instead of a connect, EHLO and QUIT per message. A
// connection leaves the pool when it has been idle too long, has carried
// maxUses transactions, or failed in a way that leaves it unusable.
type pool struct {
	idle    time.Duration
	maxUses int
	maxFree int // idle connections kept per destination

	mu    sync.Mutex
	free  map[poolKey][]*session
	timer *time.Timer // closes expired connections; nil when none is idle
}

func newPool(idle time.Duration, maxUses, maxFree int) *pool {
	return &pool{idle: idle, maxUses: maxUses, maxFree: maxFree, free: map[poolKey][]*session{}}
}

// get returns a connection to key bound to ctx: an idle one (reused) or a
// new one from d.
// deadline bounds the transaction (zero: none).
func (p *pool) get(ctx context.Context, d *dialer, key poolKey, deadline time.Time) (s *session, reused bool, err error) {
	if s := p.take(key); s != nil {
		s.bind(ctx)
		s.deadline = deadline
		poolConnections.WithLabelValues("reused").Inc()
		return s, true, nil
	}
	s, err = p.dial(ctx, d, key, deadline)
	return s, false, err
}

// dial opens a new connection to key, bypassing the idle ones.
func (p *pool) dial(ctx context.Context, d *dialer, key poolKey, deadline time.Time) (*session, error) {
	s, err := d.open(ctx, key.addr, key.serverName, key.lmtp, deadline)
	if err != nil {
		return nil, err
	}
	poolConnections.WithLabelValues("opened").Inc()
	s.key = key
	return s, nil
}

// take pops the most recently used idle connection to key, so that under
// a lighter load the others age out; expired ones are closed on the way.
func (p *pool) take(key poolKey) *session {
	now := time.Now()
	var expired []*session
	defer func() { closeAll(expired) }()
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.free[key]
	for len(list) > 0 {
		s := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if now.Sub(s.idleSince) < p.idle {
			p.free[key] = list
			return s
		}
		expired = append(expired, s)
	}
	delete(p.free, key)
	return nil
}

// put hands s back after a transaction. A failed transaction is reset
// first (RSET, still under the caller's context); s is closed instead when
// it is unusable, worn out, or the pool for its destination is full.
func (p *pool) put(s *session) {
	if s.dirty && !s.broken && s.reset() == nil {
		s.dirty = false
	}
	if !s.unbind() {
		s.broken = true // the caller's context closed the connection
	}
	if s.broken || s.dirty || s.uses >= p.maxUses || !p.keep(s) {
		s.close()
	}
}

// keep adds s to the idle connections if there is room.
func (p *pool) keep(s *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free[s.key]) >= p.maxFree {
		return false
	}
	s.idleSince = time.Now()
	p.free[s.key] = append(p.free[s.key], s)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idle, p.reap)
	}
	return true
}

// reap closes the connections idle for too long and rearms itself while
// any connection stays idle.
func (p *pool) reap() {
	now := time.Now()
	var expired []*session
	p.mu.Lock()
	next := time.Duration(0)
	for key, list := range p.free {
		kept := list[:0]
		for _, s := range list {
			left := p.idle - now.Sub(s.idleSince)
			if left <= 0 {
				expired = append(expired, s)
				continue
			}
			kept = append(kept, s)
			if next == 0 || left < next {
				next = left
			}
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(p.free, key)
		} else {
			p.free[key] = kept
		}
	}
	p.timer = nil
	if next > 0 {
		p.timer = time.AfterFunc(next, p.reap)
	}
	p.mu.Unlock()
	closeAll(expired)
}

// closeIdle closes every idle connection (at Stop and after RunOnce).
func (p *pool) closeIdle() {
	var all []*session
	p.mu.Lock()
	for _, list := range p.free {
		all = append(all, list...)
	}
	clear(p.free)
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	closeAll(all)
}

// closeAll says QUIT on each connection at once: a slow server costs one
// quitTimeout, not one per connection.
func closeAll(sessions []*session) {
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.close()
		}()
	}
	wg.Wait()
}
