package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"dmarcgate/config"
)

// queue flush under a running serve reports what its attempts left: all
// of it with the downstream down, nothing once it is back, at once.
func TestQueueFlushUnderServeReportsWhatIsLeft(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		// No retry by itself during the test: only the flushes attempt.
		c.Queue.RetryFirst.Duration, c.Queue.RetryMax.Duration = time.Hour, time.Hour
	})
	h.sink.Close()
	for i := 0; i < 3; i++ {
		if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "flush me")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "a failed attempt of each", func() bool {
		out, _ := queueList(t, h)
		return strings.Count(out, "refused") == 3
	})
	if out, err := runCmd(t, h, "queue", "flush"); err != nil || !strings.Contains(out, "; 3 message(s) in the queue") {
		t.Errorf("queue flush, downstream down: %v\n%s", err, out)
	}
	if err := h.sink.Restart(); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, h, "queue", "flush")
	if err != nil || !strings.Contains(out, "; 0 message(s) in the queue") {
		t.Errorf("queue flush, downstream up: %v\n%s", err, out)
	}
	if n := h.sink.Count(); n != 3 {
		t.Errorf("when queue flush returned the sink had %d messages, want 3", n)
	}
}

// minimalConfig is a configuration with only the required keys;
// smtpExtra goes in the [smtp] table (or starts tables of its own).
func minimalConfig(stateDir, smtpExtra string) string {
	return fmt.Sprintf(`hostname = "mx.test"
state_dir = %q
[smtp]
accept_domains = ["example.org"]
%s
[relay]
address = "127.0.0.1:2525"
[reporting]
email = "dmarc@example.org"
org_name = "Example"
`, stateDir, smtpExtra)
}

func metricLine(t *testing.T, h *harness, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + h.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` .*$`).FindString(string(b))
	return m
}

// heldIDs sends n messages that quarantine holds and returns their IDs.
func heldIDs(t *testing.T, h *harness, subject string, n int) []string {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := h.send("x@quar.example", []string{"bob@example.org"}, message("x@quar.example", subject)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCmd(t, h, "quarantine", "list")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && f[1] != "message(s)" {
			ids = append(ids, f[0])
		}
	}
	if len(ids) != n {
		t.Fatalf("quarantine list has %d messages, want %d:\n%s", len(ids), n, out)
	}
	return ids
}

func TestHeldQuarantineIsNotQueue(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.DMARC.Quarantine = "hold" })
	// An encoded word, and an escape sequence that must not reach a terminal.
	ids := heldIDs(t, h, "=?utf-8?q?caf=C3=A9?= \x1b[31mred", 2)
	out, _ := runCmd(t, h, "quarantine", "list")
	mustContain(t, out, "FROM", "SUBJECT", "<x@quar.example>", "café ?[31mred")
	if strings.Contains(out, "\x1b") {
		t.Errorf("quarantine list passes an escape character through:\n%q", out)
	}
	if out, err := queueList(t, h); err != nil || !strings.Contains(out, "0 message(s)") {
		t.Errorf("queue list shows held quarantine: %v\n%s", err, out)
	}
	waitFor(t, 5*time.Second, "the gauges", func() bool {
		return metricLine(t, h, "dmarcgate_quarantine_held") == "dmarcgate_quarantine_held 2" &&
			metricLine(t, h, "dmarcgate_queue_depth") == "dmarcgate_queue_depth 0" &&
			metricLine(t, h, "dmarcgate_queue_oldest_age_seconds") == "dmarcgate_queue_oldest_age_seconds 0"
	})

	_, err := runCmd(t, h, "quarantine", "release", "0000000000000")
	if err == nil || !strings.Contains(err.Error(), "exit 1: dmarcgate: no held message 0000000000000") {
		t.Errorf("release of an unknown ID: %v", err)
	}
	if _, err := runCmd(t, h, "queue", "delete", ids[0]); err == nil || !strings.Contains(err.Error(), "held in quarantine") {
		t.Errorf("queue delete of a held message: %v", err)
	}
	if out, err := runCmd(t, h, "quarantine", "delete", ids[0]); err != nil || !strings.Contains(out, ids[0]+" deleted") {
		t.Fatalf("quarantine delete: %v %s", err, out)
	}
	if out, err := runCmd(t, h, "quarantine", "release", ids[1]); err != nil || !strings.Contains(out, ids[1]+" released") {
		t.Fatalf("quarantine release: %v %s", err, out)
	}
	if _, err := h.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// serve logs who did what to which message.
	who := fmt.Sprintf("by=\"uid=%d pid=", os.Getuid())
	logs := h.logs.String()
	for _, want := range []string{
		`msg="quarantined message deleted" id=` + ids[0],
		`msg="quarantined message released for delivery" id=` + ids[1],
	} {
		line := regexp.MustCompile(`(?m)^.*` + regexp.QuoteMeta(want) + `.*$`).FindString(logs)
		if line == "" || !strings.Contains(line, who) || !strings.Contains(line, `subject="café ?[31mred"`) ||
			!strings.Contains(line, "from=<x@quar.example>") || !strings.Contains(line, "mail_from=x@quar.example") {
			t.Errorf("log line for %q: %q", want, line)
		}
	}
}

func TestHeldQuarantineExpires(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.DMARC.Quarantine = "hold"
		c.DMARC.QuarantineExpire.Duration = time.Second
	})
	id := heldIDs(t, h, "expire me", 1)[0]
	waitFor(t, 10*time.Second, "the expiry log line", func() bool {
		return strings.Contains(h.logs.String(), `msg="quarantined message expired and deleted" id=`+id)
	})
	mustContain(t, h.logs.String(), `subject="expire me"`, "quarantine_expire=1s")
	if out, err := runCmd(t, h, "quarantine", "list"); err != nil || !strings.Contains(out, "0 message(s)") {
		t.Errorf("after expiry: %v\n%s", err, out)
	}
	if h.sink.Count() != 0 {
		t.Error("an expired held message was delivered")
	}
}

// config check takes a state_dir that does not exist yet but can be
// created (serve creates it). That one-shot commands create none is
// TestEveryOneShotCommandNeedsTheDatabase.
func TestConfigCheckTakesCreatableStateDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dmarcgate.toml")
	os.WriteFile(path, []byte(minimalConfig("state", "")), 0o600)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", "--config", path}, nil, &out, &errb); code != 0 {
		t.Errorf("config check with a creatable state_dir: exit %d %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(err) {
		t.Errorf("config check created the state_dir: %v", err)
	}
}

// config check refuses what serve would fail on, naming the file at fault.
func TestConfigCheckFindsWhatServeWouldFailOn(t *testing.T) {
	dir := t.TempDir()
	certA, keyA := writeTestCert(t, filepath.Join(dir))
	os.Mkdir(filepath.Join(dir, "b"), 0o700)
	_, keyB := writeTestCert(t, filepath.Join(dir, "b"))
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("not a key\n"), 0o600)
	aFile := filepath.Join(dir, "a-file")
	os.WriteFile(aFile, nil, 0o600)
	write := func(name, stateDir, smtpExtra string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(minimalConfig(stateDir, smtpExtra)), 0o600)
		return path
	}
	state := filepath.Join(dir, "state")
	cases := []struct {
		name, path string
		code       int
		want       string
	}{
		{"good", write("good.toml", state, fmt.Sprintf("tls_cert = %q\ntls_key = %q", certA, keyA)), 0, ""},
		{"state_dir a file", write("sf.toml", aFile, ""), 2, "state_dir: " + aFile + " is not a directory"},
		{"state_dir under a file", write("suf.toml", filepath.Join(aFile, "state"), ""), 2,
			"state_dir: stat " + filepath.Join(aFile, "state") + ": not a directory"},
		{"listen port", write("port.toml", state, `listen = ["127.0.0.1:25x"]`), 2, `smtp.listen: "127.0.0.1:25x": port "25x" is not a number from 0 to 65535`},
		{"key of another certificate", write("pair.toml", state, fmt.Sprintf("tls_cert = %q\ntls_key = %q", certA, keyB)), 2,
			"smtp.tls_key: " + keyB + " does not go with the certificate in " + certA},
		{"key not PEM", write("key.toml", state, fmt.Sprintf("tls_cert = %q\ntls_key = %q", certA, notPEM)), 2,
			"smtp.tls_key: " + notPEM + ": no PEM \"PRIVATE KEY\" block in it"},
		{"key and cert swapped", write("swap.toml", state, fmt.Sprintf("tls_cert = %q\ntls_key = %q", keyA, certA)), 2,
			"smtp.tls_cert: " + keyA + ": no PEM \"CERTIFICATE\" block in it"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"config", "check", "--config", c.path}, nil, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, errb.String(), c.code, c.want)
		}
		if strings.Contains(errb.String(), "*") || strings.Contains(errb.String(), "x509.") {
			t.Errorf("%s: a Go type in %q", c.name, errb.String())
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("config check created %s", state)
	}
}
