package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestKeyFileErrorsSayOnceWhatFailed: a signing key that cannot be used is
// one line naming the configuration key, the file and why, each once.
func TestKeyFileErrorsSayOnceWhatFailed(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("v=DKIM1; k=rsa; p=AAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ecdsa, err := filepath.Abs(keyData + "openssl-p256.pem")
	if err != nil {
		t.Fatal(err)
	}
	sections := []struct{ key, doc string }{
		{"reporting.dkim.key_file", "[reporting.dkim]\ndomain = \"example.org\"\nselector = \"s1\"\nkey_file = %q\n"},
		{"arc.seal_key_file", "[arc]\nseal_domain = \"example.org\"\nseal_selector = \"arc1\"\nseal_key_file = %q\n"},
	}
	files := []struct{ name, file, why string }{
		{"missing file", missing, "no such file or directory"},
		{"not PEM", notPEM, `no PEM "PRIVATE KEY" or "RSA PRIVATE KEY" block`},
		{"wrong key type", ecdsa, "an ECDSA key; DKIM and ARC sign with RSA or Ed25519 only"},
	}
	for _, s := range sections {
		for _, f := range files {
			t.Run(s.key+"/"+f.name, func(t *testing.T) {
				cfg := filepath.Join(t.TempDir(), "dmarcgate.toml")
				doc := minimalConfig(filepath.Join(dir, "state"), "") + fmt.Sprintf(s.doc, f.file)
				if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
					t.Fatal(err)
				}
				var out, errb bytes.Buffer
				code := run(t.Context(), []string{"config", "check", "--config", cfg}, nil, &out, &errb)
				want := "dmarcgate: config: " + s.key + ": " + f.file + ": " + f.why + "\n"
				if code != exitUsage || errb.String() != want {
					t.Errorf("exit %d, stderr\n %q\nwant exit %d and\n %q", code, errb.String(), exitUsage, want)
				}
			})
		}
	}
}
