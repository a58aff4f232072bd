package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

var (
	// ErrUnknownUser: the downstream refused the recipient (550, 551 or 553).
	ErrUnknownUser = errors.New("queue: unknown recipient")
	// ErrUnavailable: the downstream could not say (down, 4xx, other
	// errors); the caller should answer 451, never a false 550.
	ErrUnavailable = errors.New("queue: recipient verification unavailable")
)

// VerifierConfig configures recipient verification against the downstream.
type VerifierConfig struct {
	RelayAddr      string
	Protocol       string // "smtp" (default) or "lmtp"
	Hostname       string // EHLO name
	TLS            bool   // opportunistic STARTTLS
	TLSConfig      *tls.Config
	DialTimeout    time.Duration // default 5s: a probe runs while a client waits at RCPT
	CommandTimeout time.Duration // default 10s
	PositiveTTL    time.Duration // default 1h
	NegativeTTL    time.Duration // default 10m
	MaxEntries     int           // cache bound; default 10000
	Now            func() time.Time
}

// Verifier asks the downstream whether recipients exist, with a bounded
// cache and merged concurrent probes of the same address. Probes share a
// few connections, kept open while probes keep coming.
type Verifier struct {
	cfg    VerifierConfig
	dialer *dialer
	conns  *pool
	key    poolKey

	mu       sync.Mutex
	cache    map[string]verdict
	inflight map[string]*probe
	probes   int
}

type verdict struct {
	err     error
	expires time.Time
}

type probe struct {
	done chan struct{}
	err  error
}

// Probe connections: idle ones close after probeIdle; one carries at most
// probeUses probes; at most probeConns stay idle.
const (
	probeIdle  = 5 * time.Second
	probeUses  = 100
	probeConns = 4
)

// NewVerifier returns a Verifier; Close ends its idle connections.
func NewVerifier(cfg VerifierConfig) *Verifier {
	setDefault(&cfg.DialTimeout, 5*time.Second)
	setDefault(&cfg.CommandTimeout, 10*time.Second)
	setDefault(&cfg.PositiveTTL, time.Hour)
	setDefault(&cfg.NegativeTTL, 10*time.Minute)
	setDefault(&cfg.MaxEntries, 10000)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	d := &dialer{hostname: cfg.Hostname, dialTimeout: cfg.DialTimeout, fallback: true}
	d.timeouts.setDefaults(cfg.CommandTimeout)
	if cfg.TLS {
		d.tlsConfig = cfg.TLSConfig
		if d.tlsConfig == nil {
			d.tlsConfig = clientTLS()
		}
	}
	host, _, _ := net.SplitHostPort(cfg.RelayAddr)
	key := poolKey{addr: cfg.RelayAddr, serverName: host, lmtp: strings.EqualFold(cfg.Protocol, "lmtp"), tls: d.tlsConfig != nil}
	return &Verifier{cfg: cfg, dialer: d, conns: newPool(probeIdle, probeUses, probeConns), key: key,
		cache: map[string]verdict{}, inflight: map[string]*probe{}}
}

// Close closes the idle probe connections. A probe after Close opens a
// new one.
func (v *Verifier) Close() { v.conns.closeIdle() }

// Probes is how many probes reached the downstream (cache misses).
func (v *Verifier) Probes() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.probes
}

// Check returns nil if rcpt exists downstream, an error wrapping
// ErrUnknownUser if it was refused, or one wrapping ErrUnavailable.
func (v *Verifier) Check(ctx context.Context, rcpt string) error {
	key := cacheKey(rcpt)
	v.mu.Lock()
	if e, ok := v.cache[key]; ok && v.cfg.Now().Before(e.expires) {
		v.mu.Unlock()
		verifyChecks.WithLabelValues(verifyResult(e.err), "cache").Inc()
		return e.err
	}
	p := v.inflight[key]
	if p == nil {
		p = &probe{done: make(chan struct{})}
		v.inflight[key] = p
		v.probes++
		go v.run(key, rcpt, p)
	}
	v.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	}
}

// cacheKey keeps the local part as is (it may be case-sensitive) and
// lower-cases the domain.
func cacheKey(rcpt string) string {
	i := strings.LastIndexByte(rcpt, '@')
	if i < 0 {
		return rcpt
	}
	return rcpt[:i+1] + strings.ToLower(rcpt[i+1:])
}

// run probes once for every caller waiting on p, detached from any one
// caller's context so that a caller giving up does not fail the others.
func (v *Verifier) run(key, rcpt string, p *probe) {
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.DialTimeout+4*v.cfg.CommandTimeout)
	defer cancel()
	err := v.probe(ctx, rcpt)
	verifyChecks.WithLabelValues(verifyResult(err), "probe").Inc()
	v.mu.Lock()
	delete(v.inflight, key)
	switch {
	case err == nil:
		v.store(key, verdict{expires: v.cfg.Now().Add(v.cfg.PositiveTTL)})
	case errors.Is(err, ErrUnknownUser):
		v.store(key, verdict{err: err, expires: v.cfg.Now().Add(v.cfg.NegativeTTL)})
	}
	v.mu.Unlock()
	p.err = err
	close(p.done)
}

// store adds a verdict, first dropping expired entries, then arbitrary
// ones, when the cache is full (v.mu held).
func (v *Verifier) store(key string, e verdict) {
	if len(v.cache) >= v.cfg.MaxEntries {
		now := v.cfg.Now()
		for k, old := range v.cache {
			if !now.Before(old.expires) {
				delete(v.cache, k)
			}
		}
		for k := range v.cache {
			if len(v.cache) < v.cfg.MaxEntries {
				break
			}
			delete(v.cache, k)
		}
	}
	v.cache[key] = e
}

// probe asks with MAIL FROM:<> and RCPT TO:<rcpt>, then RSET (no message
// is sent), on an idle connection when there is one. A reused connection
// the server has closed meanwhile is no answer: the probe is tried once
// more on a fresh one, as a delivery would be.
func (v *Verifier) probe(ctx context.Context, rcpt string) error {
	if err := checkAddress(rcpt); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	s, reused, err := v.conns.get(ctx, v.dialer, v.key, time.Time{})
	if err != nil {
		return fmt.Errorf("%w: %s", ErrUnavailable, replyText(err))
	}
	stale, err := ask(s, rcpt)
	if stale && reused {
		poolConnections.WithLabelValues("stale").Inc()
		v.conns.put(s)
		if s, err = v.conns.dial(ctx, v.dialer, v.key, time.Time{}); err != nil {
			return fmt.Errorf("%w: %s", ErrUnavailable, replyText(err))
		}
		_, err = ask(s, rcpt)
	}
	v.conns.put(s) // resets the transaction, or closes a broken connection
	return err
}

// ask runs one probe on s; stale means MAIL met a closed connection.
func ask(s *session, rcpt string) (stale bool, err error) {
	s.uses++
	if _, err := s.command(2, "MAIL FROM:<>"); err != nil {
		err = s.note(err)
		return s.broken, fmt.Errorf("%w: MAIL: %s", ErrUnavailable, replyText(err))
	}
	s.dirty = true // whatever RCPT says, the transaction is reset before the next use
	_, err = s.command(2, "RCPT TO:<"+rcpt+">")
	if err == nil {
		return false, nil
	}
	if se := smtpError(s.note(err)); se != nil && (se.Code == 550 || se.Code == 551 || se.Code == 553) {
		return false, fmt.Errorf("%w: %s", ErrUnknownUser, replyText(err))
	}
	return false, fmt.Errorf("%w: %s", ErrUnavailable, replyText(err))
}

func verifyResult(err error) string {
	switch {
	case err == nil:
		return "exists"
	case errors.Is(err, ErrUnknownUser):
		return "unknown"
	default:
		return "unavailable"
	}
}
