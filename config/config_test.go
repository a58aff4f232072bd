package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
hostname = "mx.test"
[smtp]
accept_domains = ["Example.ORG."]
[relay]
address = "127.0.0.1:10025"
[reporting]
org_name = "Test"
email = "dmarc@example.org"
`

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	if cfg.Hostname != "mx.example.org" || cfg.AuthservID() != "mx.example.org" {
		t.Errorf("hostname/authserv-id = %q/%q", cfg.Hostname, cfg.AuthservID())
	}
	if cfg.SMTP.ReadTimeout.Duration != 60*time.Second || cfg.Reporting.Interval.Duration != 24*time.Hour {
		t.Errorf("durations: %v %v", cfg.SMTP.ReadTimeout, cfg.Reporting.Interval)
	}
}

func TestDefaultsAndNormalisation(t *testing.T) {
	cfg, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.SMTP.AcceptDomains[0]; got != "example.org" {
		t.Errorf("accept domain normalised to %q", got)
	}
	if cfg.DMARC.QuarantineExpire.Duration != 30*24*time.Hour {
		t.Errorf("dmarc.quarantine_expire default = %v, want 720h", cfg.DMARC.QuarantineExpire)
	}
	if cfg.SMTP.MaxMessageSize != 26214400 || cfg.DMARC.Mode != "enforce" || cfg.DMARC.OrgDomain != "treewalk" || cfg.Queue.BodyMemory != 64<<20 || cfg.Reporting.PassDisposition != "none" {
		t.Errorf("defaults not applied: %+v", cfg.SMTP)
	}
}

func TestInvalidConfigs(t *testing.T) {
	cases := []struct {
		name, doc, wantKey string
		wantLine           int
	}{
		{"unknown top key", "bogus = 1\n" + minimal, "bogus", 1},
		{"unknown nested key", minimal + "[dmarc]\nmood = \"x\"\n", "dmarc.mood", 11},
		{"wrong type", strings.Replace(minimal, `hostname = "mx.test"`, `hostname = 5`, 1), "hostname", 2},
		{"bad duration", minimal + "[dns]\ntimeout = \"soon\"\n", "dns.timeout", 11},
		{"duration as a number", minimal + "[dns]\ntimeout = 60\n", "dns.timeout", 11},
		{"duration as a float", minimal + "[queue]\nretry_max = 1.5\n", "queue.retry_max", 11},
		{"negative body memory", minimal + "[queue]\nbody_memory = -1\n", "queue.body_memory", 11},
		{"section duration as a number", minimal + "[failure_reports]\nper_source_interval = 3600\n", "failure_reports.per_source_interval", 11},
		{"missing hostname", strings.Replace(minimal, `hostname = "mx.test"`, ``, 1), "hostname", 0},
		{"missing relay", strings.Replace(minimal, `address = "127.0.0.1:10025"`, ``, 1), "relay.address", 0},
		{"missing domains", strings.Replace(minimal, `accept_domains = ["Example.ORG."]`, ``, 1), "smtp.accept_domains", 0},
		{"bad mode", minimal + "[dmarc]\nmode = \"strict\"\n", "dmarc.mode", 11},
		{"bad protocol", strings.Replace(minimal, "[relay]\n", "[relay]\nprotocol = \"uucp\"\n", 1), "relay.protocol", 6},
		{"override without match", minimal + "[[dmarc.override]]\naction = \"none\"\nreason = \"forwarded\"\n", "dmarc.override[0]", 10},
		{"override bad network", minimal + "[[dmarc.override]]\nnetwork = [\"10.0.0.0/33\"]\naction = \"none\"\nreason = \"forwarded\"\n", "dmarc.override[0].network", 11},
		{"override bad reason", minimal + "[[dmarc.override]]\ndomain = \"a.example\"\naction = \"none\"\nreason = \"friend\"\n", "dmarc.override[0].reason", 13},
		{"bad pass disposition", minimal + "pass_disposition = \"PASS\"\n", "reporting.pass_disposition", 10},
		{"tls half", minimal + "[smtp]\n", "", 0},
		{"listen port not a number", strings.Replace(minimal, "[smtp]\n", "[smtp]\nlisten = [\"127.0.0.1:smtp\"]\n", 1), "smtp.listen", 4},
		{"listen port too large", strings.Replace(minimal, "[smtp]\n", "[smtp]\nlisten = [\":70000\"]\n", 1), "smtp.listen", 4},
		{"metrics listen", minimal + "[metrics]\nlisten = \"127.0.0.1\"\n", "metrics.listen", 11},
		{"quarantine expiry", minimal + "[dmarc]\nquarantine_expire = \"0s\"\n", "dmarc.quarantine_expire", 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if tc.wantKey == "" {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if ce.Key != tc.wantKey || ce.Line != tc.wantLine {
				t.Errorf("key/line = %q/%d, want %q/%d (%v)", ce.Key, ce.Line, tc.wantKey, tc.wantLine, err)
			}
		})
	}
}

// Type mismatches are said in the file's terms, not Go's.
func TestDecodeErrorsNameNoGoTypes(t *testing.T) {
	cases := []struct{ doc, want string }{
		{strings.Replace(minimal, `hostname = "mx.test"`, `hostname = 5`, 1), "hostname: an integer given, want a string"},
		{strings.Replace(minimal, "[smtp]\n", "[smtp]\nlisten = \"127.0.0.1:25\"\n", 1), "smtp.listen: a string given, want a list of strings"},
		{strings.Replace(minimal, "[smtp]\n", "[smtp]\nmax_recipients = 1.5\n", 1), "smtp.max_recipients: a float given, want a whole number"},
		{minimal + "[dmarc]\noverride = 3\n", "dmarc.override: an integer given, want a list of tables ([[...]])"},
		{minimal + "[reporting.dkim]\nkey_file = true\n", "reporting.dkim.key_file: a boolean given, want a string"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc))
		if err == nil || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("err = %v, want it to end in %q", err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "config.") || strings.Contains(err.Error(), "[]string") || strings.Contains(err.Error(), "of type")) {
			t.Errorf("err names a Go type: %v", err)
		}
	}
}

// A relative state_dir is the configuration file's neighbour, wherever
// the command runs.
func TestRelativeStateDirFollowsConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "etc", "c.toml")
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, []byte("state_dir = \"var/state\"\n"+minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "etc", "var", "state"); cfg.StateDir != want {
		t.Errorf("state_dir = %q, want %q", cfg.StateDir, want)
	}
	abs := filepath.Join(dir, "abs")
	os.WriteFile(p, []byte(fmt.Sprintf("state_dir = %q\n", abs)+minimal), 0o600)
	if cfg, err := Load(p); err != nil || cfg.StateDir != abs {
		t.Errorf("absolute state_dir = %v, %v; want %q", cfg, err, abs)
	}
}

func TestOverrideExpiry(t *testing.T) {
	o := Override{Expires: "2027-01-01"}
	at, err := o.ExpiresAt()
	if err != nil || !at.Equal(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ExpiresAt = %v, %v", at, err)
	}
}

func TestLoadNamesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte("x = 1\n"+minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p+":1: x: unknown key") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "[[dmarc.override]]\ndomain=\"x\"\naction=\"none\"\nreason=\"forwarded\"\nexpires=\"2020-01-01\"\n"))
	f.Add([]byte("hostname = [1,2]\n[smtp]\nlisten = \"x\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil && (cfg.Hostname == "" || cfg.Relay.Address == "" || len(cfg.SMTP.AcceptDomains) == 0) {
			t.Fatalf("accepted a config without required keys")
		}
	})
}

// smtp.accept_domains: a leading dot stands for the subdomains; anything
// that is not a domain after it is refused.
func TestAcceptDomainEntries(t *testing.T) {
	cases := []struct {
		entry, want string // want "" = refused
	}{
		{"example.org", "example.org"},
		{"Example.ORG.", "example.org"},
		{".example.org", ".example.org"},
		{" .Sub.Example.org. ", ".sub.example.org"},
		{".", ""},
		{"..example.org", ""},
		{"a..example.org", ""},
		{"", ""},
		{"user@example.org", ""},
		{"example.org,other.org", ""},
		{"exa mple.org", ""},
	}
	for _, tc := range cases {
		t.Run(tc.entry, func(t *testing.T) {
			doc := strings.Replace(minimal, `["Example.ORG."]`, fmt.Sprintf("[%q]\npostmaster_address = \"pm@example.org\"", tc.entry), 1)
			cfg, err := Parse([]byte(doc))
			if tc.want == "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Key != "smtp.accept_domains" {
					t.Fatalf("err = %v, want an smtp.accept_domains error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.SMTP.AcceptDomains[0]; got != tc.want {
				t.Errorf("normalised to %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPostmasterAddress(t *testing.T) {
	cases := []struct {
		name, domains, address, want string // want "" = refused
	}{
		{"default: the first domain", `[".sub.example.org", "Example.ORG"]`, "", "postmaster@example.org"},
		{"given", `["example.org"]`, "hostmaster@Example.NET", "hostmaster@example.net"},
		{"only subdomains, none given", `[".example.org"]`, "", ""},
		{"no domain", `["example.org"]`, "postmaster", ""},
		{"angle brackets", `["example.org"]`, "<postmaster@example.org>", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(minimal, `["Example.ORG."]`, tc.domains, 1)
			if tc.address != "" {
				doc = strings.Replace(doc, "[smtp]\n", fmt.Sprintf("[smtp]\npostmaster_address = %q\n", tc.address), 1)
			}
			cfg, err := Parse([]byte(doc))
			if tc.want == "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Key != "smtp.postmaster_address" {
					t.Fatalf("err = %v, want an smtp.postmaster_address error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SMTP.PostmasterAddress != tc.want {
				t.Errorf("postmaster_address = %q, want %q", cfg.SMTP.PostmasterAddress, tc.want)
			}
		})
	}
}
