package resolver

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Answer is the result of one query. RRs holds only records of the asked
// type (CNAMEs leading to them are followed, not returned). Answers may be
// shared between callers: do not modify RRs.
type Answer struct {
	Name      string // the name asked, lower-case and fully qualified
	Type      uint16
	RRs       []dns.RR
	Authentic bool // AD bit: the upstream validated the answer with DNSSEC
	Rcode     int
	TTL       time.Duration // how long the answer stays cached (remaining, for cached answers)
	FromCache bool
}

// Stats counts the client's work since New.
type Stats struct {
	QueriesSent  uint64 // DNS messages sent upstream, retries and TCP included
	CacheHits    uint64
	CacheMisses  uint64
	Merged       uint64 // lookups that joined an identical one already in flight
	CacheEntries int
	Evictions    uint64 // entries dropped to respect CacheSize
}

// Client is a caching DNS stub resolver; it implements Resolver. It is
// safe for concurrent use.
type Client struct {
	cfg      Config
	udp, tcp *dns.Client
	cache    *lruCache
	flights  flightGroup

	sent, hits, misses, merged atomic.Uint64
}

var _ Resolver = (*Client)(nil)

// New returns a Client for cfg; zero fields take the documented defaults.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:   cfg,
		udp:   &dns.Client{Net: "udp", Timeout: cfg.Timeout},
		tcp:   &dns.Client{Net: "tcp", Timeout: cfg.Timeout},
		cache: newLRUCache(cfg.CacheSize),
	}, nil
}

// Servers returns the upstream servers in the order they are tried.
func (c *Client) Servers() []string { return append([]string(nil), c.cfg.Servers...) }

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	size, evicted := c.cache.stats()
	return Stats{
		QueriesSent: c.sent.Load(), CacheHits: c.hits.Load(), CacheMisses: c.misses.Load(),
		Merged: c.merged.Load(), CacheEntries: size, Evictions: evicted,
	}
}

// Query looks up name's records of type qtype, from the cache when it can.
// The error, if any, is a *net.DNSError (see Resolver). On NXDOMAIN and
// NODATA the Answer is returned too, without records, so that its Rcode
// and AD bit can be read.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	fqdn, err := canonicalName(name)
	if err != nil {
		return nil, err
	}
	ans, fail := c.lookup(ctx, fqdn, qtype)
	if fail != nil {
		return ans, fail.dnsError(name)
	}
	return ans, nil
}

// canonicalName lower-cases name and makes it fully qualified, rejecting
// what cannot be a domain name (RFC 1035 §2.3.4).
func canonicalName(name string) (string, error) {
	fqdn := dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(fqdn); name == "" || !ok || !dns.IsFqdn(fqdn) || len(fqdn) > 254 {
		return "", (&failure{kind: outcomePermanent, msg: "invalid domain name"}).dnsError(name)
	}
	return fqdn, nil
}

// lookup answers from the cache, or joins or starts the upstream lookup
// for the question and waits for it as long as ctx allows.
func (c *Client) lookup(ctx context.Context, fqdn string, qtype uint16) (*Answer, *failure) {
	if err := ctx.Err(); err != nil {
		return nil, contextFailure(err)
	}
	q := question{fqdn, qtype}
	now := c.cfg.Now()
	if e, ok := c.cache.get(q, now); ok {
		c.hits.Add(1)
		dnsCacheHits.Inc()
		return cachedAnswer(e, now), e.fail
	}
	if missed, _ := ctx.Value(cacheOnlyKey{}).(*atomic.Bool); missed != nil {
		missed.Store(true)
		return nil, &failure{kind: outcomeTemporary, msg: "not in the cache (cache-only lookup)"}
	}
	c.misses.Add(1)
	dnsCacheMisses.Inc()
	call, started := c.flights.join(q, func() flightResult {
		return c.resolve(context.WithoutCancel(ctx), q)
	})
	if !started {
		c.merged.Add(1)
	}
	select {
	case <-call.done:
		return copyAnswer(call.result.answer), call.result.fail
	case <-ctx.Done():
		return nil, contextFailure(ctx.Err())
	}
}

// cacheOnlyKey marks a context whose lookups stay in the cache.
type cacheOnlyKey struct{}

// CacheOnly returns a context under which the Client answers from its
// cache alone: a question the cache cannot answer fails at once with a
// temporary error (counted neither as a hit nor as a miss), and missed
// records that this happened. It is for work worth doing inline when no
// lookup has to wait for the network, and otherwise in the background,
// again, with the network.
func CacheOnly(ctx context.Context) (cacheCtx context.Context, missed *atomic.Bool) {
	missed = new(atomic.Bool)
	return context.WithValue(ctx, cacheOnlyKey{}, missed), missed
}

// resolve asks upstream, records metrics and caches what may be cached.
// Temporary and permanent failures are not cached: merging already keeps
// a burst of identical questions to one upstream query.
func (c *Client) resolve(ctx context.Context, q question) flightResult {
	fqdn, qtype := q.name, q.qtype
	// The lookup outlives callers that give up; bound it by its worst case.
	budget := c.cfg.Timeout * time.Duration(2*len(c.cfg.Servers))
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	start := time.Now()
	resp, server, fail := c.exchange(ctx, fqdn, qtype)
	var ans *Answer
	if fail == nil {
		var ttl time.Duration
		ans, fail, ttl = c.interpret(resp, fqdn, qtype, server)
		if ttl > 0 {
			c.cache.put(q, cacheEntry{answer: ans, fail: fail, expires: c.cfg.Now().Add(ttl)})
		}
	}
	kind := outcomeSuccess
	if fail != nil {
		kind = fail.kind
	}
	dnsQueryDuration.Observe(time.Since(start).Seconds())
	dnsQueriesTotal.WithLabelValues(typeLabel(qtype), kind.String()).Inc()
	return flightResult{answer: ans, fail: fail}
}

// cachedAnswer is a caller's copy of a cached answer, its TTL the time left.
func cachedAnswer(e cacheEntry, now time.Time) *Answer {
	ans := copyAnswer(e.answer)
	ans.TTL = e.expires.Sub(now)
	ans.FromCache = true
	return ans
}

// copyAnswer gives each caller its own Answer struct (RRs stay shared).
func copyAnswer(a *Answer) *Answer {
	if a == nil {
		return nil
	}
	cp := *a
	return &cp
}
