package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// arcConfig writes a configuration whose [arc] section is given.
func arcConfig(t *testing.T, arc string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "arc.toml")
	doc := fmt.Sprintf(`hostname = "mx.test"
state_dir = %q
[smtp]
accept_domains = ["example.org"]
[relay]
address = "127.0.0.1:2525"
[reporting]
email = "dmarc@example.org"
org_name = "Example"
[arc]
%s
`, filepath.Join(dir, "state"), arc)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sealKeys names keyFile absolutely: the configuration lies in a
// temporary directory, and its relative paths follow it.
func sealKeys(keyFile string) string {
	keyFile = absPath(keyFile)
	return fmt.Sprintf("seal_domain = \"Lists.Example.org\"\nseal_selector = \"arc1\"\nseal_key_file = %q", keyFile)
}

const keyData = "../../internal/dkimkey/testdata/"

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func TestARCKeyRecordPrintsWhatToPublish(t *testing.T) {
	cases := []struct {
		name, key, record, note string
	}{
		{"RSA 2048 from openssl genpkey", "openssl-rsa2048.pem", "v=DKIM1; k=rsa; p=", "2048-bit RSA, rsa-sha256"},
		{"Ed25519 from openssl genpkey", "openssl-ed25519.pem", "v=DKIM1; k=ed25519; p=", "Ed25519, ed25519-sha256"},
		{"PKCS#1 RSA 1024", "../../../testdata/dkim/rfc8463/rsa-private.pem", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQ", "at least 2048 bits is recommended"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := arcConfig(t, sealKeys(keyData+c.key))
			var out, errb bytes.Buffer
			if code := run(t.Context(), []string{"arc", "key-record", "--config", cfg}, nil, &out, &errb); code != exitOK {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, `arc1._domainkey.lists.example.org. TXT "`+c.record) {
				t.Errorf("record line %q", last)
			}
			if !strings.Contains(out.String(), c.note) {
				t.Errorf("output lacks %q:\n%s", c.note, out.String())
			}
			for _, l := range lines[:len(lines)-1] {
				if !strings.HasPrefix(l, ";") {
					t.Errorf("line %q is neither a zone-file comment nor the record", l)
				}
			}
			if code := run(t.Context(), []string{"config", "check", "--config", cfg}, nil, &out, &errb); code != exitOK {
				t.Errorf("config check: exit %d: %s", code, errb.String())
			}
		})
	}
}

func TestARCSealKeyThatCannotSealIsAConfigError(t *testing.T) {
	cases := []struct {
		name, arc, inStderr string
	}{
		{"RSA under 1024 bits", sealKeys(keyData + "openssl-rsa768.pem"), "arc.seal_key_file: " + absPath(keyData+"openssl-rsa768.pem") + ": RSA key of 768 bits"},
		{"ECDSA", sealKeys(keyData + "openssl-p256.pem"), "arc.seal_key_file: " + absPath(keyData+"openssl-p256.pem") + ": an ECDSA key"},
		{"missing file", sealKeys("/nonexistent/arc.pem"), "arc.seal_key_file: /nonexistent/arc.pem: no such file or directory"},
		{"two of three", "seal_domain = \"example.org\"\nseal_selector = \"s\"", "arc: seal_domain, seal_selector and seal_key_file go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := arcConfig(t, c.arc)
			for _, args := range [][]string{{"config", "check"}, {"arc", "key-record"}} {
				var out, errb bytes.Buffer
				code := run(t.Context(), append(args, "--config", cfg), nil, &out, &errb)
				if code != exitUsage || !strings.Contains(errb.String(), c.inStderr) || out.Len() != 0 {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", args, code, out.String(), errb.String(), c.inStderr)
				}
			}
		})
	}
}

func TestARCKeyRecordWithoutSealing(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"arc", "key-record", "--config", arcConfig(t, "")}, nil, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "sealing is not configured") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	code = run(t.Context(), []string{"arc", "publish"}, nil, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), arcUsage) {
		t.Errorf("unknown subcommand: exit %d, stderr %q", code, errb.String())
	}
}
