package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every one-shot command that reads the state database says when there is
// none and exits 1, creating nothing: not only the queue and quarantine
// listings but each command that takes an ID, sends, imports or backs up.
func TestEveryOneShotCommandNeedsTheDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dmarcgate.toml")
	if err := os.WriteFile(path, []byte(minimalConfig("state", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.xml")
	if err := os.WriteFile(report, []byte("<feedback/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	for _, args := range [][]string{
		{"queue", "list"},
		{"queue", "flush"},
		{"quarantine", "list"},
		{"reports", "preview"},
		{"queue", "show", "0000000000000"},
		{"queue", "delete", "0000000000000"},
		{"quarantine", "release", "0000000000000"},
		{"quarantine", "delete", "0000000000000"},
		{"reports", "send"},
		{"reports", "import", report},
		{"domain", "status", "example.org"},
		{"domain", "failures", "example.org"},
		{"backup", filepath.Join(dir, "copy.db")},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append(args, "--config", path), strings.NewReader(""), &out, &errb)
		want := "dmarcgate: no state database at " + filepath.Join(state, "dmarcgate.db")
		if code != 1 || !strings.HasPrefix(errb.String(), want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", args, code, errb.String(), want)
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("a one-shot command created %s: %v", state, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "copy.db")); !os.IsNotExist(err) {
		t.Errorf("backup without a database wrote a file: %v", err)
	}
}
