package reporting

import (
	"bytes"
	"testing"
	"time"
)

func TestReporterReloadKeepsPeriodAndRefusesBadConfig(t *testing.T) {
	e := newEnv(t, nil, nil)
	cfg := e.cfg
	cfg.Enabled, cfg.Interval, cfg.MaxPerPeriod = false, time.Hour, 7
	if err := e.rep.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	got := e.rep.config()
	if got.Enabled || got.MaxPerPeriod != 7 || got.Interval != DefaultInterval {
		t.Errorf("after Reload: enabled %v, max_per_period %d, interval %v; want false, 7, %v (the period kept)",
			got.Enabled, got.MaxPerPeriod, got.Interval, DefaultInterval)
	}
	bad := e.cfg
	bad.PassDisposition = "maybe"
	if err := e.rep.Reload(bad); err == nil {
		t.Fatal("Reload took an invalid pass_disposition")
	}
	if e.rep.Enabled() || e.rep.config().PassDisposition != DefaultPassDisposition {
		t.Error("a refused Reload changed the configuration in force")
	}
}

func TestFailureReporterReloadKeepsRedactKey(t *testing.T) {
	e := newFailureEnv(t, nil)
	key := bytes.Clone(e.fr.config().RedactKey)
	cfg := *e.fr.config()
	cfg.RedactKey, cfg.MaxPerHour, cfg.Enabled = nil, 3, false
	if err := e.fr.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if e.fr.Enabled() || e.fr.lim().perHour != 3 {
		t.Errorf("after Reload: enabled %v, per hour %d; want false, 3", e.fr.Enabled(), e.fr.lim().perHour)
	}
	if !bytes.Equal(e.fr.config().RedactKey, key) {
		t.Error("Reload changed the redaction key: pseudonyms would change while the process runs")
	}
}
