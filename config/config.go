// Package config loads and validates dmarcgate's one TOML configuration file.
// Decoding is strict: an unknown key or a value of the wrong type is an error
// naming the key and its line. Defaults live in Default(). It does no I/O
// besides reading the file (and checking that TLS files exist).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// DefaultPath is where the commands look without --config.
const DefaultPath = "/etc/dmarcgate/config.toml"

// Config is the whole file. Each section is a plain struct.
type Config struct {
	Hostname       string         `toml:"hostname"`
	StateDir       string         `toml:"state_dir"`
	Log            Log            `toml:"log"`
	SMTP           SMTP           `toml:"smtp"`
	DNS            DNS            `toml:"dns"`
	Relay          Relay          `toml:"relay"`
	Queue          Queue          `toml:"queue"`
	Outbound       Outbound       `toml:"outbound"`
	DMARC          DMARC          `toml:"dmarc"`
	Reporting      Reporting      `toml:"reporting"`
	FailureReports FailureReports `toml:"failure_reports"`
	Metrics        Metrics        `toml:"metrics"`
	ARC            ARC            `toml:"arc"`
	InboundReports InboundReports `toml:"inbound_reports"`
	Console        Console        `toml:"console"`
	Cluster        Cluster        `toml:"cluster"`
}

type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

type SMTP struct {
	Listen        []string `toml:"listen"`
	AcceptDomains []string `toml:"accept_domains"`
	// PostmasterAddress is where RCPT TO:<Postmaster> (no domain) goes;
	// empty: postmaster@ the first accept_domains entry that is a domain.
	PostmasterAddress   string `toml:"postmaster_address"`
	MaxMessageSize      int64  `toml:"max_message_size"`
	MaxRecipients       int    `toml:"max_recipients"`
	MaxConnections      int    `toml:"max_connections"`
	MaxConnectionsPerIP int    `toml:"max_connections_per_ip"`
	// IPv6Prefix: per-address limits count an IPv6 client by this prefix.
	IPv6Prefix  int      `toml:"ipv6_prefix"`
	ReadTimeout Duration `toml:"read_timeout"`
	// SessionTimeout bounds a whole connection, so a client trickling bytes
	// cannot hold a slot for ever.
	SessionTimeout Duration `toml:"session_timeout"`
	// AllowRoutedAddresses takes recipients whose local part routes
	// further (%, !, a quoted @); refused by default, since a downstream
	// that honours them would relay on the gateway's word.
	AllowRoutedAddresses bool   `toml:"allow_routed_addresses"`
	TLSCert              string `toml:"tls_cert"`
	TLSKey               string `toml:"tls_key"`
}

type DNS struct {
	Servers   []string `toml:"servers"`
	Timeout   Duration `toml:"timeout"`
	CacheSize int      `toml:"cache_size"`
}

type Relay struct {
	Address          string `toml:"address"`
	Protocol         string `toml:"protocol"`
	VerifyRecipients bool   `toml:"verify_recipients"`
	// TLS asks for STARTTLS towards the downstream when it offers it.
	TLS bool `toml:"tls"`
}

type Queue struct {
	Workers    int      `toml:"workers"`
	RetryFirst Duration `toml:"retry_first"`
	RetryMax   Duration `toml:"retry_max"`
	GiveUp     Duration `toml:"give_up"`
	// Connections to the downstream and smarthosts are reused.
	IdleConnTimeout Duration `toml:"idle_conn_timeout"`
	MaxConnMessages int      `toml:"max_conn_messages"`
	// BodyMemory bounds what message bodies being received hold in memory
	// together, beyond the first 256 KiB of each.
	BodyMemory int64 `toml:"body_memory"`
	// MinFreeSpace: below this many free bytes on state_dir, MAIL gets
	// 452 4.3.1 (0: no floor). MaxSpoolInFlight bounds the bytes that
	// bodies being received hold in spool files together (0: no bound).
	MinFreeSpace     int64 `toml:"min_free_space"`
	MaxSpoolInFlight int64 `toml:"max_spool_in_flight"`
	// TransactionTimeout bounds one outgoing transaction as a whole, plus
	// the message's size at MinTransferRate bytes/s.
	TransactionTimeout Duration `toml:"transaction_timeout"`
	MinTransferRate    int64    `toml:"min_transfer_rate"`
}

type Outbound struct {
	Smarthost string `toml:"smarthost"`
	// Workers deliver mail the gateway originates, apart from relay mail.
	Workers int `toml:"workers"`
	// MaxConnectionsPerHost bounds concurrent deliveries to one MX address.
	MaxConnectionsPerHost int `toml:"max_connections_per_host"`
	// PlaintextFallback: after a failed STARTTLS with a host that offered
	// it, send in plain text all the same.
	PlaintextFallback bool `toml:"plaintext_fallback"`
}

type DMARC struct {
	Mode             string `toml:"mode"`
	AuthservID       string `toml:"authserv_id"`
	Quarantine       string `toml:"quarantine"`
	QuarantineHeader string `toml:"quarantine_header"`
	// QuarantineExpire: a held message not released by then is deleted.
	QuarantineExpire Duration `toml:"quarantine_expire"`
	OnTempError      string   `toml:"on_temperror"`
	OrgDomain        string   `toml:"org_domain"`
	LegacyPct        string   `toml:"legacy_pct"`
	// EvaluationTimeout bounds each message's SPF, DKIM key, DMARC and
	// ARC look-ups; what is not done by then is a temperror.
	EvaluationTimeout Duration   `toml:"evaluation_timeout"`
	Override          []Override `toml:"override"`
}

// Override is a local exception to the sender's DMARC policy.
type Override struct {
	Domain  string   `toml:"domain"`  // RFC5322.From domain (and its subdomains); "" = any
	Network []string `toml:"network"` // client networks in CIDR form; empty = any
	Action  string   `toml:"action"`  // none, quarantine or reject
	Reason  string   `toml:"reason"`  // forwarded, mailing_list, trusted_forwarder, local_policy
	Comment string   `toml:"comment"` // free text carried into aggregate reports
	Expires string   `toml:"expires"` // RFC 3339 date or time; "" = never
}

type Reporting struct {
	Enabled   bool     `toml:"enabled"`
	OrgName   string   `toml:"org_name"`
	Email     string   `toml:"email"`
	Interval  Duration `toml:"interval"`
	Smarthost string   `toml:"smarthost"`
	// SendDelay is the upper bound of the random delay after a period ends.
	SendDelay               Duration `toml:"send_delay"`
	MaxPerDestinationPerDay int      `toml:"max_per_destination_per_day"`
	MaxPerPeriod            int      `toml:"max_per_period"`
	DropAfter               Duration `toml:"drop_after"`
	SuppressFor             Duration `toml:"suppress_for"`
	// PassDisposition: "none" or "pass" for mail that passed DMARC.
	PassDisposition string        `toml:"pass_disposition"`
	DKIM            ReportingDKIM `toml:"dkim"`
}

type ReportingDKIM struct {
	Domain   string `toml:"domain"`
	Selector string `toml:"selector"`
	KeyFile  string `toml:"key_file"`
}

type FailureReports struct {
	Enabled                 bool     `toml:"enabled"`
	IncludeBody             bool     `toml:"include_body"`
	Redact                  bool     `toml:"redact"`
	PerSourceInterval       Duration `toml:"per_source_interval"`
	MaxPerDestinationPerDay int      `toml:"max_per_destination_per_day"`
	MaxPerHour              int      `toml:"max_per_hour"`
}

type Metrics struct {
	Listen string `toml:"listen"`
}

// ARC is RFC 8617: relayed mail is sealed with an ARC set of ours when the
// three seal keys are set.
type ARC struct {
	// Verify: check ARC chains; the result is arc= in our
	// Authentication-Results and the evidence trusted_sealers acts on.
	Verify bool `toml:"verify"`
	// TrustedSealers are ARC-Seal d= domains whose recorded DMARC (or
	// aligned SPF/DKIM) pass may stand in for a DMARC failure.
	TrustedSealers []string `toml:"trusted_sealers"`
	SealDomain     string   `toml:"seal_domain"`   // d= of our ARC sets
	SealSelector   string   `toml:"seal_selector"` // s=: the key record is s._domainkey.d
	SealKeyFile    string   `toml:"seal_key_file"` // PEM: PKCS#8 (RSA or Ed25519) or PKCS#1 RSA
}

// Sealing reports whether relayed mail gets an ARC set of ours.
func (a *ARC) Sealing() bool { return a.SealDomain != "" }

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"30s\" or \"24h\"): %q", b)
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Error is a configuration problem; the CLI exits 2 on it.
type Error struct {
	Path string
	Line int // 0 when not known
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads, decodes strictly, applies defaults and validates.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	cfg, err := parse(data, path)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.Path = path
		}
		return nil, err
	}
	return cfg, nil
}

// Parse decodes a configuration document (defaults applied) and validates
// it. Relative paths in it stay relative to the working directory.
func Parse(data []byte) (*Config, error) { return parse(data, "") }

// parse is Parse; with configPath set, relative paths in the document are
// first made relative to that file's directory (see resolvePaths), so that
// validation checks the files serve will open.
func parse(data []byte, configPath string) (*Config, error) {
	cfg := Default()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		if e := unquotedDuration(data); e != nil {
			return nil, e
		}
		return nil, decodeError(err)
	}
	if configPath != "" {
		cfg.resolvePaths(configPath)
	}
	if err := cfg.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Line == 0 {
			ce.Line = lineOf(data, ce.Key)
		}
		return nil, err
	}
	return cfg, nil
}

func decodeError(err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		de := sm.Errors[0]
		line, _ := de.Position()
		return &Error{Line: line, Key: strings.Join(de.Key(), "."), Msg: "unknown key"}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := plainTypeMessage(strings.TrimPrefix(de.Error(), "toml: "))
		return &Error{Line: line, Key: strings.Join(de.Key(), "."), Msg: msg}
	}
	return &Error{Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}
