package main

import (
	"context"
	"crypto/tls"
	"encoding"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"dmarcgate/config"
	"dmarcgate/smtpd"
)

// reloadable are the configuration keys a SIGHUP puts in force; any other
// key that differs from the file serve started with is named in the log
// as waiting for a restart. A key added later is restart-only until it is
// listed here and its reader takes the new value.
var reloadable = []string{
	"smtp.accept_domains", "smtp.postmaster_address", "smtp.max_message_size", "smtp.max_recipients",
	"smtp.max_connections", "smtp.max_connections_per_ip",
	"dmarc.mode", "dmarc.authserv_id", "dmarc.quarantine", "dmarc.quarantine_header",
	"dmarc.on_temperror", "dmarc.legacy_pct", "dmarc.override", "arc.trusted_sealers",
	"reporting.enabled", "reporting.org_name", "reporting.email", "reporting.smarthost",
	"reporting.send_delay", "reporting.max_per_destination_per_day", "reporting.max_per_period",
	"reporting.drop_after", "reporting.suppress_for", "reporting.pass_disposition",
	"reporting.dkim.domain", "reporting.dkim.selector", "reporting.dkim.key_file",
	"failure_reports.enabled", "failure_reports.include_body", "failure_reports.redact",
	"failure_reports.per_source_interval", "failure_reports.max_per_destination_per_day",
	"failure_reports.max_per_hour",
}

// reloader applies the configuration file again on SIGHUP. Each part it
// changes swaps a snapshot that sessions and senders read once per
// transaction or operation: nothing holds a lock across I/O, and a
// transaction under way finishes under the settings it began with.
type reloader struct {
	path string // "" : SIGHUP re-reads the TLS certificate only
	log  *slog.Logger
	a    *app
	srv  *smtpd.Server
	boot *config.Config // as serve started: restart-only keys are compared with it
	cur  *config.Config // the configuration last put in force
}

// onHangup calls reload on each SIGHUP until ctx ends. Without it SIGHUP
// would end the process.
func onHangup(ctx context.Context, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		reloadOn(ctx, hup, reload)
	}()
}

func reloadOn(ctx context.Context, hup <-chan os.Signal, reload func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload()
		}
	}
}

// reload re-reads the STARTTLS certificate files, then the configuration
// file. A file that does not load, or settings the running parts refuse,
// leave the configuration in use as it was, with an error line.
func (r *reloader) reload() {
	if c := r.a.tlsCert; c != nil {
		c.refresh(true)
	}
	if r.path == "" {
		return
	}
	cfg, err := config.Load(r.path)
	if err == nil {
		err = r.apply(cfg)
	}
	if err != nil {
		r.log.Error("configuration reload failed; the configuration in use stays", "config", r.path, "err", oneLine(err.Error()))
		return
	}
	changed := changedKeys(r.cur, cfg, true)
	r.cur = cfg
	r.log.Info("configuration reloaded", "config", r.path, "applied", strings.Join(changed, ","))
	if restart := changedKeys(r.boot, cfg, false); len(restart) > 0 {
		r.log.Warn("configuration changes that take effect only after a restart", "config", r.path,
			"keys", strings.Join(restart, ","))
	}
}

// apply checks cfg as serve would at start, then puts its reloadable part
// in force. The reporters check theirs before the SMTP server changes.
func (r *reloader) apply(cfg *config.Config) error {
	if err := checkFiles(cfg); err != nil {
		return err
	}
	overrides, err := overridesFrom(cfg.DMARC.Override)
	if err != nil {
		return err
	}
	if err := r.a.failures.Reload(failureConfig(cfg, r.log)); err != nil {
		return err
	}
	if err := r.a.reports.Reload(reportingConfig(cfg, r.log)); err != nil {
		return err
	}
	r.srv.Reload(smtpConfig(cfg, nil), policyFrom(cfg, overrides))
	return nil
}

// changedKeys lists the keys (section.key, as the file writes them) whose
// values differ between a and b: the reloadable ones when reloadable is
// true, else the others.
func changedKeys(a, b *config.Config, reloadable bool) []string {
	var out []string
	for _, k := range diffKeys("", reflect.ValueOf(*a), reflect.ValueOf(*b)) {
		if isReloadable(k) == reloadable {
			out = append(out, k)
		}
	}
	return out
}

func isReloadable(key string) bool { return slices.Contains(reloadable, key) }

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// diffKeys walks two values of the same struct type by their toml tags; a
// nested section is walked, anything else (a list, a duration) compared
// whole.
func diffKeys(prefix string, a, b reflect.Value) []string {
	var out []string
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		key := prefix + name
		fa, fb := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct && !f.Type.Implements(textMarshaler) {
			out = append(out, diffKeys(key+".", fa, fb)...)
			continue
		}
		if !sameValue(fa, fb) {
			out = append(out, key)
		}
	}
	return out
}

// sameValue compares two leaves; an empty list is the same whether the
// file wrote [] or left the key out.
func sameValue(a, b reflect.Value) bool {
	if k := a.Kind(); (k == reflect.Slice || k == reflect.Map) && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// smtpConfig is the [smtp] section as the server takes it (a reload builds
// it again).
func smtpConfig(cfg *config.Config, tlsConf *tls.Config) smtpd.Config {
	return smtpd.Config{
		Hostname:             cfg.Hostname,
		AcceptDomains:        cfg.SMTP.AcceptDomains,
		PostmasterAddress:    cfg.SMTP.PostmasterAddress,
		MaxMessageSize:       cfg.SMTP.MaxMessageSize,
		MaxRecipients:        cfg.SMTP.MaxRecipients,
		MaxConnections:       cfg.SMTP.MaxConnections,
		MaxConnectionsPerIP:  cfg.SMTP.MaxConnectionsPerIP,
		AllowRoutedAddresses: cfg.SMTP.AllowRoutedAddresses,
		IPv6Prefix:           cfg.SMTP.IPv6Prefix,
		ReadTimeout:          cfg.SMTP.ReadTimeout.Duration,
		SessionTimeout:       cfg.SMTP.SessionTimeout.Duration,
		EvaluationTimeout:    cfg.DMARC.EvaluationTimeout.Duration,
		TLS:                  tlsConf,
	}
}
