package resolver

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout     = 3 * time.Second
	DefaultCacheSize   = 10000
	DefaultMaxTTL      = time.Hour
	DefaultNegativeTTL = 15 * time.Minute
	DefaultResolvConf  = "/etc/resolv.conf"

	// fallbackServer is used when resolv.conf is unreadable or lists nothing.
	fallbackServer = "127.0.0.1:53"
	// defaultNegativeNoSOA is the negative TTL when an answer carries no SOA.
	defaultNegativeNoSOA = 5 * time.Minute
)

// Config configures a Client. The zero value is usable: servers from
// /etc/resolv.conf, 3s per attempt, 10000 cache entries.
type Config struct {
	// Servers are "host:port" addresses tried in order; a bare host gets
	// port 53. Empty means the nameservers of ResolvConf.
	Servers []string
	// ResolvConf is the file read when Servers is empty (default /etc/resolv.conf).
	ResolvConf string
	// Timeout bounds one attempt against one server (default 3s).
	Timeout time.Duration
	// CacheSize is the maximum number of cached answers (default 10000).
	CacheSize int
	// MinTTL and MaxTTL clamp positive TTLs (defaults 0 and 1h).
	MinTTL, MaxTTL time.Duration
	// NegativeTTL caps how long NXDOMAIN/NODATA answers are cached (default 15m).
	NegativeTTL time.Duration
	// Now is the clock used for cache expiry (default time.Now).
	Now func() time.Time
}

// withDefaults returns cfg with zero fields filled in, or an error for
// values that cannot be meant.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Timeout < 0 || cfg.MinTTL < 0 || cfg.MaxTTL < 0 || cfg.NegativeTTL < 0 || cfg.CacheSize < 0 {
		return cfg, errors.New("resolver: negative timeout, TTL or cache size")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	if cfg.MinTTL > cfg.MaxTTL {
		return cfg, fmt.Errorf("resolver: min TTL %v above max TTL %v", cfg.MinTTL, cfg.MaxTTL)
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = DefaultResolvConf
	}
	servers, err := normalizeServers(cfg.Servers, cfg.ResolvConf)
	if err != nil {
		return cfg, err
	}
	cfg.Servers = servers
	return cfg, nil
}

// normalizeServers gives every configured server a port, or reads the
// system's list when none is configured.
func normalizeServers(servers []string, resolvConf string) ([]string, error) {
	if len(servers) == 0 {
		return systemServers(resolvConf), nil
	}
	out := make([]string, 0, len(servers))
	for _, s := range servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			host, port = s, "53"
		}
		if host == "" || port == "" {
			return nil, fmt.Errorf("resolver: invalid server address %q", s)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out, nil
}

// systemServers reads nameservers from a resolv.conf file, falling back to
// a local resolver when the file is missing or lists none.
func systemServers(path string) []string {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil || len(cc.Servers) == 0 {
		return []string{fallbackServer}
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}
