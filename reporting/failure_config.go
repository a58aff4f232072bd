package reporting

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"time"
)

// FailureConfig configures failure reports; it mirrors [failure_reports]
// plus the identity shared with aggregate reports ([reporting]). Zero
// values take the defaults named below.
type FailureConfig struct {
	Enabled     bool
	IncludeBody bool // the whole original (message/rfc822) instead of its header
	// Redact replaces the local part of every address in the report with
	// a keyed hash (RFC 6590 §4). The default configuration turns it on.
	Redact bool
	// RedactKey keys the hash; empty means a random key per process, so
	// pseudonyms stay stable only while the process runs.
	RedactKey []byte
	// PerSourceInterval: one report per reported domain per source IP per
	// interval (default 1h). MaxPerDestinationPerDay (default 100) and
	// MaxPerHour, all destinations together (default 500).
	PerSourceInterval       time.Duration
	MaxPerDestinationPerDay int
	MaxPerHour              int
	// IPv6Prefix: an IPv6 source counts for PerSourceInterval by its
	// prefix of this length (0: 64), as smtp.ipv6_prefix says.
	IPv6Prefix int
	// DropAfter: a report whose destinations could not be checked (DNS
	// trouble) for this long is dropped (default 24h): failure reports
	// are only useful soon after the fact (RFC 9991 §2).
	DropAfter time.Duration
	// SendInterval: how often Run looks for pending reports besides being
	// woken by a new one (default 1m).
	SendInterval time.Duration

	// Shared, when set, charges the limits once more for every instance of
	// a cluster together, before a report is queued.
	Shared SharedLimits

	Email     string // From: and envelope sender of reports; our reporting address
	OrgName   string
	Hostname  string // Message-ID domain
	UserAgent string // ARF User-Agent (default "dmarcgate/1")
	Now       func() time.Time
	Logger    *slog.Logger
}

// Defaults of FailureConfig.
const (
	DefaultFailurePerSourceInterval = time.Hour
	DefaultFailurePerDestPerDay     = 100
	DefaultFailurePerHour           = 500
	DefaultFailureDropAfter         = 24 * time.Hour
	DefaultFailureSendInterval      = time.Minute
)

func (c *FailureConfig) setDefaults() error {
	if c.Enabled {
		a, err := mail.ParseAddress(c.Email)
		if err != nil || domainOf(a.Address) == "" {
			return fmt.Errorf("reporting: failure reports need a reporting address, got %q", c.Email)
		}
		c.Email = a.Address
	}
	if c.PerSourceInterval < 0 || c.DropAfter < 0 || c.SendInterval < 0 {
		return errors.New("reporting: negative duration in FailureConfig")
	}
	setDefault(&c.PerSourceInterval, DefaultFailurePerSourceInterval)
	setDefault(&c.MaxPerDestinationPerDay, DefaultFailurePerDestPerDay)
	setDefault(&c.MaxPerHour, DefaultFailurePerHour)
	setDefault(&c.DropAfter, DefaultFailureDropAfter)
	setDefault(&c.SendInterval, DefaultFailureSendInterval)
	if c.UserAgent == "" {
		c.UserAgent = "dmarcgate/1"
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if len(c.RedactKey) == 0 {
		c.RedactKey = make([]byte, 32)
		rand.Read(c.RedactKey)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
