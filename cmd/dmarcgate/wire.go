package main

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"dmarcgate/auth"
	"dmarcgate/auth/arc"
	"dmarcgate/cluster"
	"dmarcgate/config"
	"dmarcgate/inbound"
	"dmarcgate/policy"
	"dmarcgate/queue"
	"dmarcgate/reporting"
	"dmarcgate/resolver"
	"dmarcgate/smtpd"
	"dmarcgate/store"
)

// app holds the parts every command shares, wired from the configuration.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	res      *resolver.Client
	db       *store.DB
	queue    *queue.Queue
	checker  *auth.Checker
	eval     *smtpd.Evaluator
	reports  *reporting.Reporter
	failures *reporting.FailureReporter
	inbound  *inbound.Store   // the reports other receivers send about our domains
	intake   *inbound.Intake  // reads them as they arrive
	tlsCert  *certificate     // STARTTLS, set by smtpServer when configured
	cluster  *cluster.Cluster // the database shared with other instances; nil alone
}

const dbFile = "dmarcgate.db"

// newLogger writes structured lines to out at the configured level.
func newLogger(cfg *config.Config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// newEvaluator wires DNS and the DMARC settings; it needs no state.
func newEvaluator(cfg *config.Config) (*resolver.Client, *auth.Checker, *smtpd.Evaluator, error) {
	res, err := resolver.New(resolver.Config{Servers: cfg.DNS.Servers, Timeout: cfg.DNS.Timeout.Duration, CacheSize: cfg.DNS.CacheSize})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dns: %w", err)
	}
	checker := &auth.Checker{Resolver: res, OrgMethod: cfg.DMARC.OrgDomain, MaxSignatures: 5}
	overrides, err := overridesFrom(cfg.DMARC.Override)
	if err != nil {
		return nil, nil, nil, err
	}
	eval := &smtpd.Evaluator{Checker: checker, Policy: policyFrom(cfg, overrides), Roll: roll}
	if cfg.ARC.Verify {
		eval.ARC = &arc.Verifier{Resolver: res}
	}
	return res, checker, eval, nil
}

// policyFrom is the local DMARC policy of cfg (a reload builds it again).
func policyFrom(cfg *config.Config, overrides []smtpd.Override) smtpd.Policy {
	return smtpd.Policy{
		AuthservID:       cfg.AuthservID(),
		Monitor:          cfg.DMARC.Mode == "monitor",
		Quarantine:       cfg.DMARC.Quarantine,
		QuarantineHeader: cfg.DMARC.QuarantineHeader,
		TempFail:         cfg.DMARC.OnTempError == "tempfail",
		LegacyPct:        cfg.DMARC.LegacyPct,
		Overrides:        overrides,
		TrustedSealers:   cfg.ARC.TrustedSealers,
	}
}

// roll draws the legacy pct sample (RFC 7489 §6.6.4), once per message.
// The runtime seeds math/rand/v2 from the system's randomness (ChaCha8), so
// a sender cannot predict the draw; crypto/rand's big.Int API costs more
// allocations than the rest of the policy step.
func roll() int { return rand.IntN(100) }

func overridesFrom(list []config.Override) ([]smtpd.Override, error) {
	out := make([]smtpd.Override, 0, len(list))
	for i := range list {
		o := &list[i]
		exp, _ := o.ExpiresAt()
		so := smtpd.Override{Domain: o.Domain, Action: policy.Action(o.Action), Reason: o.Reason, Comment: o.Comment, Expires: exp}
		for _, n := range o.Network {
			if !strings.Contains(n, "/") {
				if ip := net.ParseIP(n); ip.To4() != nil {
					n += "/32"
				} else {
					n += "/128"
				}
			}
			_, ipn, err := net.ParseCIDR(n)
			if err != nil {
				return nil, &config.Error{Key: fmt.Sprintf("dmarc.override[%d].network", i), Msg: err.Error()}
			}
			so.Networks = append(so.Networks, ipn)
		}
		out = append(out, so)
	}
	return out, nil
}

// openApp opens the state (database, queue) as well. Another process holding
// the database makes it fail after a short wait rather than hang.
func openApp(cfg *config.Config, log *slog.Logger, lockWait time.Duration) (*app, error) {
	if err := checkFiles(cfg); err != nil {
		return nil, err
	}
	res, checker, eval, err := newEvaluator(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	db, err := store.Open(filepath.Join(cfg.StateDir, dbFile), lockWait)
	if err != nil {
		return nil, err
	}
	// The queue reports bounces of report mail to the reporters, which are
	// built after it: both are set before any delivery can run.
	var rep *reporting.Reporter
	var fr *reporting.FailureReporter
	qcfg := queueConfig(cfg, res, log)
	qcfg.OnPermanentFailure = func(m *queue.Message, rcpt string, err error) {
		if rep != nil {
			rep.OnPermanentFailure(m, rcpt, err)
		}
		if fr != nil {
			fr.OnPermanentFailure(m, rcpt, err)
		}
	}
	q, err := queue.New(db, qcfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	checker.HeaderMemory = q.SharedMemory() // header copies share queue.body_memory
	rep, err = reporting.New(db, q, res, reportingConfig(cfg, log))
	if err != nil {
		db.Close()
		return nil, err
	}
	cl, err := openCluster(cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	fcfg := failureConfig(cfg, log)
	if cl != nil {
		fcfg.Shared = cl
	}
	fr, err = reporting.NewFailureReporter(db, q, res, rep, fcfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &app{cfg: cfg, log: log, res: res, db: db, queue: q, checker: checker, eval: eval, reports: rep, failures: fr, cluster: cl}
	if err := a.openInbound(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func failureConfig(cfg *config.Config, log *slog.Logger) reporting.FailureConfig {
	f := cfg.FailureReports
	return reporting.FailureConfig{
		Enabled:                 f.Enabled,
		IncludeBody:             f.IncludeBody,
		Redact:                  f.Redact,
		PerSourceInterval:       f.PerSourceInterval.Duration,
		MaxPerDestinationPerDay: f.MaxPerDestinationPerDay,
		MaxPerHour:              f.MaxPerHour,
		IPv6Prefix:              cfg.SMTP.IPv6Prefix,
		Email:                   cfg.Reporting.Email,
		OrgName:                 cfg.Reporting.OrgName,
		Hostname:                cfg.Hostname,
		Logger:                  log,
	}
}

// recorders hands every evaluated message to both kinds of report; their
// writes join the message's own commit.
type recorders []smtpd.Recorder

func (rs recorders) Record(ev *reporting.Event) func(tx *bolt.Tx) error {
	var fns []func(tx *bolt.Tx) error
	for _, r := range rs {
		if fn := r.Record(ev); fn != nil {
			fns = append(fns, fn)
		}
	}
	if len(fns) == 0 {
		return nil
	}
	return func(tx *bolt.Tx) error {
		for _, fn := range fns {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	}
}

func reportingConfig(cfg *config.Config, log *slog.Logger) reporting.Config {
	r := cfg.Reporting
	return reporting.Config{
		Enabled:                 r.Enabled,
		OrgName:                 r.OrgName,
		Email:                   r.Email,
		Interval:                r.Interval.Duration,
		Smarthost:               r.Smarthost,
		SendDelay:               r.SendDelay.Duration,
		MaxPerDestinationPerDay: r.MaxPerDestinationPerDay,
		MaxPerPeriod:            r.MaxPerPeriod,
		DropAfter:               r.DropAfter.Duration,
		SuppressFor:             r.SuppressFor.Duration,
		PassDisposition:         r.PassDisposition,
		DKIMDomain:              r.DKIM.Domain,
		DKIMSelector:            r.DKIM.Selector,
		DKIMKeyFile:             r.DKIM.KeyFile,
		Hostname:                cfg.Hostname,
		ShipRows:                cfg.Cluster.Enabled(),
		Logger:                  log,
	}
}

func queueConfig(cfg *config.Config, res resolver.Resolver, log *slog.Logger) queue.Config {
	return queue.Config{
		Dir:             cfg.StateDir,
		Hostname:        cfg.Hostname,
		RelayAddr:       cfg.Relay.Address,
		RelayProtocol:   cfg.Relay.Protocol,
		RelayTLS:        cfg.Relay.TLS,
		Smarthost:       cfg.Outbound.Smarthost,
		Resolver:        res,
		Workers:         cfg.Queue.Workers,
		RetryFirst:      cfg.Queue.RetryFirst.Duration,
		RetryMax:        cfg.Queue.RetryMax.Duration,
		GiveUp:          cfg.Queue.GiveUp.Duration,
		IdleConnTimeout: cfg.Queue.IdleConnTimeout.Duration,
		MaxConnMessages: cfg.Queue.MaxConnMessages,
		BodyMemory:      cfg.Queue.BodyMemory,
		MinFreeSpace:    cfg.Queue.MinFreeSpace,
		// The bound on spool files in flight is kept apart from MinFreeSpace:
		// stalled sessions cannot fill the disk between two MAIL checks.
		MaxSpoolInFlight: cfg.Queue.MaxSpoolInFlight,
		Logger:           log,

		OutboundWorkers:    cfg.Outbound.Workers,
		MaxConnsPerHost:    cfg.Outbound.MaxConnectionsPerHost,
		TransactionTimeout: cfg.Queue.TransactionTimeout.Duration,
		MinTransferRate:    cfg.Queue.MinTransferRate,
		PlaintextFallback:  cfg.Outbound.PlaintextFallback,
	}
}

func (a *app) Close() error {
	if a.cluster != nil {
		a.cluster.Close()
	}
	return a.db.Close()
}

// loadConfig loads --config; its errors are *config.Error (exit 2).
func loadConfig(path string) (*config.Config, error) {
	return config.Load(path)
}
