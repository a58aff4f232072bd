package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"dmarcgate/config"
)

// TestConsolePasswordPrintsHash: the printed hash matches the password on
// stdin, and config accepts it as console.password_hash.
func TestConsolePasswordPrintsHash(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"console", "password"}, strings.NewReader("correct horse\n"), &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Fatalf("hash %q does not match: %v", hash, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse\n")) == nil {
		t.Error("the newline became part of the password")
	}
	doc := "hostname = \"mx.test\"\n[smtp]\naccept_domains = [\"example.org\"]\n[relay]\naddress = \"127.0.0.1:1\"\n" +
		"[reporting]\norg_name = \"T\"\nemail = \"d@example.org\"\n[console]\nlisten = \"127.0.0.1:0\"\npassword_hash = \"" + hash + "\"\n"
	if _, err := config.Parse([]byte(doc)); err != nil {
		t.Fatalf("config refuses the hash: %v", err)
	}
}

func TestConsolePasswordRefusals(t *testing.T) {
	cases := map[string]struct {
		args  []string
		stdin string
	}{
		"empty stdin":   {[]string{"console", "password"}, ""},
		"empty line":    {[]string{"console", "password"}, "\n"},
		"too long":      {[]string{"console", "password"}, strings.Repeat("x", 73) + "\n"},
		"no subcommand": {[]string{"console"}, "pw\n"},
	}
	for name, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader(c.stdin), &out, &errb)
		if code != exitUsage || out.Len() != 0 || errb.Len() == 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, out.String(), errb.String())
		}
	}
}
