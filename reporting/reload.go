package reporting

import "time"

// config is the configuration in force now; read it once per operation.
func (r *Reporter) config() *Config { return r.cur.Load() }

// dkim is the signer of reports, nil when they go unsigned.
func (r *Reporter) dkim() *dkimSigner { return r.signer.Load() }

// Reload puts cfg in force (SIGHUP). The period length, host name, clock,
// logger and cluster role stay as they are: recorded rows are keyed by the periods they
// cut. The DKIM key file is read again, so a rotated key takes effect. An
// invalid cfg, or a key that does not load, changes nothing.
func (r *Reporter) Reload(cfg Config) error {
	old := r.config()
	cfg.Interval, cfg.Hostname, cfg.Now, cfg.Logger = old.Interval, old.Hostname, old.Now, old.Logger
	cfg.ShipRows = old.ShipRows // the cluster is wired at start
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	var signer *dkimSigner
	if cfg.DKIMKeyFile != "" {
		s, err := loadDKIMSigner(cfg.DKIMDomain, cfg.DKIMSelector, cfg.DKIMKeyFile)
		if err != nil {
			return err
		}
		signer = s
	}
	r.signer.Store(signer)
	r.cur.Store(&cfg)
	return nil
}

// config is the failure-report configuration in force now.
func (f *FailureReporter) config() *FailureConfig { return f.cur.Load() }

// lim is the rate limits in force now.
func (f *FailureReporter) lim() *failureLimits { return f.limits.Load() }

func limitsOf(cfg *FailureConfig) *failureLimits {
	return &failureLimits{
		perSource:  cfg.PerSourceInterval,
		perDestDay: cfg.MaxPerDestinationPerDay,
		perHour:    cfg.MaxPerHour,
		v6Prefix:   cfg.IPv6Prefix,
	}
}

// Reload puts cfg in force (SIGHUP). The redaction key, host name, clock,
// logger, IPv6 prefix, shared limits and Run's ticker interval stay as they are, so that pseudonyms
// stay stable while the process runs. Counts already charged against the
// limits are kept (they live in the database); the new limits apply to
// them. An invalid cfg changes nothing.
func (f *FailureReporter) Reload(cfg FailureConfig) error {
	old := f.config()
	cfg.RedactKey, cfg.Hostname, cfg.Now, cfg.Logger = old.RedactKey, old.Hostname, old.Now, old.Logger
	cfg.SendInterval, cfg.IPv6Prefix, cfg.Shared = old.SendInterval, old.IPv6Prefix, old.Shared
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	f.limits.Store(limitsOf(&cfg))
	f.cur.Store(&cfg)
	return nil
}

// enabledWait is how often a scheduler started with reports disabled
// looks whether a reload enabled them.
const enabledWait = time.Minute

// Enabled reports whether aggregate reports are on in the configuration in
// force.
func (r *Reporter) Enabled() bool { return r.config().Enabled }

// Enabled reports whether failure reports are on in the configuration in
// force.
func (f *FailureReporter) Enabled() bool { return f.config().Enabled }
