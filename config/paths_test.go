package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRelativeFilesFollowConfigFile: every relative path in a
// configuration is the configuration file's neighbour, whatever the
// working directory (the test's is config/, where none of them exist).
func TestRelativeFilesFollowConfigFile(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc", "dmarcgate")
	for _, f := range []string{"tls/cert.pem", "tls/key.pem"} { // validation stats these
		p := filepath.Join(etc, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	doc := `state_dir = "../../var/dmarcgate"
hostname = "mx.test"
[smtp]
accept_domains = ["example.org"]
tls_cert = "tls/cert.pem"
tls_key = "./tls/key.pem"
[relay]
address = "127.0.0.1:10025"
[reporting]
org_name = "Test"
email = "dmarc@example.org"
[reporting.dkim]
domain = "example.org"
selector = "s1"
key_file = "keys/dkim.pem"
[arc]
seal_domain = "example.org"
seal_selector = "arc1"
seal_key_file = "/abs/arc.pem"
`
	path := filepath.Join(etc, "dmarcgate.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, got, want string }{
		{"state_dir", cfg.StateDir, filepath.Join(root, "var", "dmarcgate")},
		{"smtp.tls_cert", cfg.SMTP.TLSCert, filepath.Join(etc, "tls", "cert.pem")},
		{"smtp.tls_key", cfg.SMTP.TLSKey, filepath.Join(etc, "tls", "key.pem")},
		{"reporting.dkim.key_file", cfg.Reporting.DKIM.KeyFile, filepath.Join(etc, "keys", "dkim.pem")},
		{"arc.seal_key_file", cfg.ARC.SealKeyFile, "/abs/arc.pem"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
	}
	// Parse has no file to follow: paths stay as written, unset ones empty.
	cfg, err = Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.TLSCert != "" || cfg.Reporting.DKIM.KeyFile != "" || cfg.ARC.SealKeyFile != "" {
		t.Errorf("unset paths became %q, %q, %q", cfg.SMTP.TLSCert, cfg.Reporting.DKIM.KeyFile, cfg.ARC.SealKeyFile)
	}
}

// TestEveryFileKeyIsResolved: a key whose name says it holds a path
// (_file, _dir, _cert, _key, _path) is one resolvePaths resolves, so a key
// added later cannot silently follow the working directory instead.
func TestEveryFileKeyIsResolved(t *testing.T) {
	cfg := &Config{}
	var keys []string
	walkStrings(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) {
		for _, suffix := range []string{"_file", "_dir", "_cert", "_key", "_path"} {
			if strings.HasSuffix(key, suffix) {
				keys = append(keys, key)
				v.SetString("rel/" + key)
			}
		}
	})
	if len(keys) < 5 {
		t.Fatalf("found only %v", keys)
	}
	cfg.resolvePaths("/etc/dmarcgate/dmarcgate.toml")
	walkStrings(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) {
		if v.String() == "rel/"+key {
			t.Errorf("%s is not resolved against the configuration file (add it to Config.paths)", key)
		} else if v.String() != "" && v.String() != "/etc/dmarcgate/rel/"+key {
			t.Errorf("%s = %q", key, v.String())
		}
	})
}

// walkStrings calls fn with the dotted TOML key of every string field.
func walkStrings(v reflect.Value, prefix string, fn func(string, reflect.Value)) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		switch fv := v.Field(i); fv.Kind() {
		case reflect.String:
			fn(prefix+name, fv)
		case reflect.Struct:
			walkStrings(fv, prefix+name+".", fn)
		}
	}
}
