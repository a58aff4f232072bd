package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckFindsRelativeFilesFromAnyDirectory: a configuration in
// /etc-like directory naming its certificate and keys relative to itself
// is valid when the command runs elsewhere, as under systemd.
func TestConfigCheckFindsRelativeFilesFromAnyDirectory(t *testing.T) {
	bin := buildBinary(t)
	etc := t.TempDir()
	tls := filepath.Join(etc, "tls")
	keys := filepath.Join(etc, "keys")
	for _, d := range []string{tls, keys} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeTestCert(t, tls)
	copyFile(t, keyData+"openssl-rsa2048.pem", filepath.Join(keys, "dkim.pem"))
	copyFile(t, keyData+"openssl-ed25519.pem", filepath.Join(keys, "arc.pem"))
	doc := minimalConfig("state", "tls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"") +
		"[reporting.dkim]\ndomain = \"example.org\"\nselector = \"s1\"\nkey_file = \"keys/dkim.pem\"\n" +
		"[arc]\nseal_domain = \"example.org\"\nseal_selector = \"arc1\"\nseal_key_file = \"keys/arc.pem\"\n"
	cfg := filepath.Join(etc, "dmarcgate.toml")
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"config", "check"}, {"arc", "key-record"}} {
		cmd := exec.Command(bin, append(args, "--config", cfg)...)
		cmd.Dir = t.TempDir() // none of the files is here
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%v from another directory: %v\n%s", args, err, out)
		}
		if args[0] == "arc" && !strings.Contains(string(out), filepath.Join(keys, "arc.pem")) {
			t.Errorf("arc key-record does not name the resolved key file:\n%s", out)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
