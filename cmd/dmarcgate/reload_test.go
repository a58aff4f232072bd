package main

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"dmarcgate/config"
)

// hangup sends this process SIGHUP (serve's handler takes it; no test of
// the package runs in parallel) and waits for the log line it leads to.
func hangup(t *testing.T, h *harness, want string) {
	t.Helper()
	before := strings.Count(h.logs.String(), want)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, want, func() bool { return strings.Count(h.logs.String(), want) > before })
}

// A running serve takes a new accept_domains and a new [[dmarc.override]]
// on SIGHUP, names what needs a restart, and keeps its configuration when
// the file no longer loads.
func TestSIGHUPReloadsConfiguration(t *testing.T) {
	h := newHarness(t, nil)
	msg := message("ceo@broken.example", "before the override")
	if err := h.send("x@broken.example", []string{"bob@example.org"}, msg); smtpCode(err) != "550 5.7.26" {
		t.Fatalf("broken.example before the reload: %v; want its p=reject", err)
	}
	if err := h.send("alice@good.example", []string{"carol@new.example"}, message("alice@good.example", "x")); smtpCode(err) != "550 5.7.1" {
		t.Fatalf("RCPT to new.example before the reload: %v; want relay denied", err)
	}

	h.cfg = cloneConfig(h.cfg) // serve keeps the one it started with
	h.cfg.SMTP.AcceptDomains = append(h.cfg.SMTP.AcceptDomains, "new.example")
	h.cfg.DMARC.Override = []config.Override{{Domain: "broken.example", Action: "none", Reason: "local_policy", Comment: "reloaded"}}
	h.cfg.SMTP.ReadTimeout.Duration = 7 * time.Second // restart-only
	h.writeConfig()
	hangup(t, h, `msg="configuration reloaded"`)
	logs := h.logs.String()
	mustContain(t, logs, "applied=smtp.accept_domains,dmarc.override",
		`msg="configuration changes that take effect only after a restart"`, "keys=smtp.read_timeout")

	msg = message("ceo@broken.example", "after the override")
	if err := h.send("x@broken.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("broken.example after the reload: %v; want the override to deliver it", err)
	}
	mustContain(t, authResults(t, delivered(t, h, msg)), "dmarc=fail", "dis=none")
	if err := h.send("alice@good.example", []string{"carol@new.example"}, message("alice@good.example", "y")); err != nil {
		t.Fatalf("RCPT to new.example after the reload: %v", err)
	}

	// A file that does not load changes nothing.
	if err := os.WriteFile(h.configPath, []byte("[smtp\naccept_domains = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangup(t, h, `msg="configuration reload failed; the configuration in use stays"`)
	if err := h.send("alice@good.example", []string{"dave@new.example"}, message("alice@good.example", "z")); err != nil {
		t.Fatalf("RCPT to new.example after a broken reload: %v; want the configuration kept", err)
	}
}

// Limits change for the next session: max_recipients and max_message_size.
func TestSIGHUPReloadsLimits(t *testing.T) {
	h := newHarness(t, nil)
	to := []string{"a@example.org", "b@example.org", "c@example.org"}
	if err := h.send("alice@good.example", to, message("alice@good.example", "three")); err != nil {
		t.Fatal(err)
	}
	h.cfg = cloneConfig(h.cfg)
	h.cfg.SMTP.MaxRecipients = 2
	h.cfg.SMTP.MaxMessageSize = 4096
	h.writeConfig()
	hangup(t, h, `msg="configuration reloaded"`)
	mustContain(t, h.logs.String(), "applied=smtp.max_message_size,smtp.max_recipients")
	if err := h.send("alice@good.example", to, message("alice@good.example", "three again")); smtpCode(err) != "452 4.5.3" {
		t.Errorf("third recipient after max_recipients = 2: %v; want 452 4.5.3", err)
	}
	big := message("alice@good.example", "big") + strings.Repeat("0123456789\r\n", 800)
	if err := h.send("alice@good.example", to[:1], big); smtpCode(err) != "552 5.3.4" {
		t.Errorf("8 kB message after max_message_size = 4096: %v; want 552 5.3.4", err)
	}
}

func TestChangedKeysSplitsReloadableFromRestart(t *testing.T) {
	a := config.Default()
	b := config.Default()
	b.SMTP.AcceptDomains = []string{"x.example"}
	b.SMTP.Listen = []string{"127.0.0.1:2525"}
	b.StateDir = "/elsewhere"
	b.Reporting.DKIM.Selector = "s2"
	b.Metrics.Listen = ""
	if got := strings.Join(changedKeys(a, b, true), ","); got != "smtp.accept_domains,reporting.dkim.selector" {
		t.Errorf("reloadable = %s", got)
	}
	if got := strings.Join(changedKeys(a, b, false), ","); got != "state_dir,smtp.listen,metrics.listen" {
		t.Errorf("restart-only = %s", got)
	}
}

// cloneConfig copies cfg deeply enough for the tests to change its lists.
func cloneConfig(cfg *config.Config) *config.Config {
	c := *cfg
	c.SMTP.AcceptDomains = slices.Clone(cfg.SMTP.AcceptDomains)
	c.DMARC.Override = slices.Clone(cfg.DMARC.Override)
	return &c
}
