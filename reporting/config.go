package reporting

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
)

// Config configures a Reporter; it mirrors the [reporting] section.
// Zero values take the defaults named below.
type Config struct {
	Enabled bool
	OrgName string // report_metadata/org_name
	Email   string // From: of reports, report_metadata/email, envelope sender
	// Interval is the reporting period, aligned to the Unix epoch (so 24h
	// periods start at midnight UTC); default 24h.
	Interval  time.Duration
	Smarthost string // host:port for reports; "" = the MX of each destination
	// SendDelay bounds the random delay after a period ends before the
	// scheduler sends, so receivers do not all send at once; default 5m.
	SendDelay time.Duration
	// MaxPerDestinationPerDay caps reports to one address per UTC day
	// (default 50); MaxPerPeriod caps reports generated per period
	// (default 10000).
	MaxPerDestinationPerDay int
	MaxPerPeriod            int
	// DropAfter: a report not delivered after this long is dropped
	// (default 48h). SuppressFor: how long an address that bounced (5xx)
	// gets nothing (default 7 days).
	DropAfter   time.Duration
	SuppressFor time.Duration
	// PassDisposition is the <disposition> of mail that passed DMARC
	// under an enforcing policy: "none" (the default, what readers written
	// for RFC 7489 accept) or "pass" (RFC 9990 §2.1's value).
	PassDisposition string
	// Optional DKIM signing of reports; all three or none.
	DKIMDomain, DKIMSelector, DKIMKeyFile string
	// Hostname is ours: report IDs and Message-IDs use it.
	Hostname string
	// ShipRows: this instance is one of a cluster. Closed periods wait to
	// be shipped (ShipClosed) instead of being reported here; reports
	// come back built from every instance's rows (Adopt).
	ShipRows bool
	Now      func() time.Time
	Logger   *slog.Logger
}

// Defaults of Config.
const (
	DefaultInterval                = 24 * time.Hour
	DefaultSendDelay               = 5 * time.Minute
	DefaultMaxPerDestinationPerDay = 50
	DefaultMaxPerPeriod            = 10000
	DefaultDropAfter               = 48 * time.Hour
	DefaultSuppressFor             = 7 * 24 * time.Hour
	DefaultPassDisposition         = "none"
)

func (c *Config) setDefaults() error {
	if c.Enabled {
		if c.Email == "" || c.OrgName == "" {
			return errors.New("reporting: Config.Email and Config.OrgName are required")
		}
		a, err := mail.ParseAddress(c.Email)
		if err != nil || domainOf(a.Address) == "" {
			return fmt.Errorf("reporting: %q is not an email address", c.Email)
		}
		c.Email = a.Address
	}
	if c.Hostname == "" {
		return errors.New("reporting: Config.Hostname is required")
	}
	if (c.DKIMDomain != "" || c.DKIMSelector != "" || c.DKIMKeyFile != "") &&
		(c.DKIMDomain == "" || c.DKIMSelector == "" || c.DKIMKeyFile == "") {
		return errors.New("reporting: DKIM domain, selector and key file go together")
	}
	switch c.PassDisposition {
	case "":
		c.PassDisposition = DefaultPassDisposition
	case "none", "pass":
	default:
		return fmt.Errorf("reporting: PassDisposition %q is neither none nor pass", c.PassDisposition)
	}
	if c.Interval < 0 || c.SendDelay < 0 || c.DropAfter < 0 || c.SuppressFor < 0 {
		return errors.New("reporting: negative duration in Config")
	}
	setDefault(&c.Interval, DefaultInterval)
	setDefault(&c.SendDelay, DefaultSendDelay)
	setDefault(&c.MaxPerDestinationPerDay, DefaultMaxPerDestinationPerDay)
	setDefault(&c.MaxPerPeriod, DefaultMaxPerPeriod)
	setDefault(&c.DropAfter, DefaultDropAfter)
	setDefault(&c.SuppressFor, DefaultSuppressFor)
	if c.Interval < time.Second {
		return errors.New("reporting: Interval below one second")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// domainOf returns the lower-cased domain of an address (after the last @).
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || i == len(addr)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
}
