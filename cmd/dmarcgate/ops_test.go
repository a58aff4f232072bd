package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
	"dmarcgate/smtpsink"
)

func TestMetricsAndHealth(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.send("alice@good.example", []string{"bob@example.org"}, message("alice@good.example", "metrics")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + h.metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	if got := get("/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("/healthz = %q", got)
	}
	names := []string{"dmarcgate_smtp_connections_total", "dmarcgate_messages_total{outcome=\"deliver\"}",
		"dmarcgate_queue_depth", "dmarcgate_queue_oldest_age_seconds", "dmarcgate_delivery_attempts_total",
		"dmarcgate_spool_fsync_seconds_bucket", "dmarcgate_dns_queries_total", "dmarcgate_auth_results_total",
		"dmarcgate_smtp_connections_active"}
	// Delivery is counted just after the sink has the message: poll.
	var missing []string
	waitFor(t, 5*time.Second, "every metric", func() bool {
		m := get("/metrics")
		missing = missing[:0]
		for _, name := range names {
			if !strings.Contains(m, name) {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	})
}

func TestSTARTTLSAndReceivedHeader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir)
	h := newHarness(t, func(c *config.Config) { c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile })
	plain, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := plain.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered with tls_cert and tls_key set")
	}
	plain.Close()
	c, err := smtp.DialStartTLS(h.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := message("alice@good.example", "over tls")
	if err := c.SendMail("alice@good.example", []string{"bob@example.org"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	added := delivered(t, h, msg)
	mustContain(t, added, "with ESMTPS", "(using TLS 1.3 with cipher")
}

// writeTestCert stores a self-signed certificate as PEM files.
func writeTestCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	conf, err := smtpsink.SelfSignedTLS("mx.test.example")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := pemEncode(t, conf.Certificates[0])
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestEnvelopeExtensionsPassThrough(t *testing.T) {
	h := newHarness(t, nil)
	c, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE", "ENHANCEDSTATUSCODES", "CHUNKING"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("EHLO lacks %s", ext)
		}
	}
	msg := message("jörg@nopolicy.example", "ünïcode") + "Grüße\r\n"
	if err := c.Mail("jörg@nopolicy.example", &smtp.MailOptions{UTF8: true, Body: smtp.Body8BitMIME}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@example.org", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].UTF8 || !got[0].Body8Bit || got[0].From != "jörg@nopolicy.example" {
		t.Errorf("envelope at the sink: from %q utf8 %v 8bit %v", got[0].From, got[0].UTF8, got[0].Body8Bit)
	}
	if !bytes.HasSuffix(got[0].Data, []byte(msg)) {
		t.Error("8-bit body changed in transit")
	}
}

func TestConfigCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join("..", "..", "config.example.toml")
	bad := filepath.Join(dir, "bad.toml")
	data, _ := os.ReadFile(good)
	os.WriteFile(bad, append([]byte("colour = \"blue\"\n"), data...), 0o600)
	// Files the configuration names are loaded as serve loads them.
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("not a key\n"), 0o600)
	minimal := func(name, extra string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(minimalConfig(filepath.Join(dir, "state"), extra)), 0o600)
		return path
	}
	badTLS := minimal("tls.toml", fmt.Sprintf("tls_cert = %q\ntls_key = %q", notPEM, notPEM))
	badKey := minimal("key.toml", fmt.Sprintf("[reporting.dkim]\ndomain = \"example.org\"\nselector = \"s1\"\nkey_file = %q", notPEM))
	cases := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"config", "check", "--config", good}, 0, ""},
		{[]string{"config", "check", "--config", bad}, 2, "bad.toml:1: colour: unknown key"},
		{[]string{"config", "check", "--config", filepath.Join(dir, "missing.toml")}, 2, "no such file"},
		{[]string{"config", "check", "--config", badTLS}, 2, "smtp.tls_cert: " + notPEM + ": no PEM \"CERTIFICATE\" block in it"},
		{[]string{"config", "check", "--config", badKey}, 2, "reporting.dkim.key_file: " + notPEM + ": no PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\" block"},
		{[]string{"queue", "list", "--config", badKey}, 2, "reporting.dkim.key_file"},
		{[]string{"queue", "show"}, 2, "usage: dmarcgate queue list | flush | show ID | delete ID"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{nil, 2, "no command given (try dmarcgate help)"},
		{[]string{"check", "--config", good}, 2, "usage"},
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader(""), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.inStderr) {
			t.Errorf("%v: exit %d stderr %q, want %d and %q", c.args, code, errb.String(), c.code, c.inStderr)
		}
		if n := strings.Count(strings.TrimSpace(errb.String()), "\n"); n > 0 {
			t.Errorf("%v: stderr has %d lines, want one", c.args, n+1)
		}
		if strings.Contains(errb.String(), "control socket") {
			t.Errorf("%v: a configuration error blamed on a running serve: %s", c.args, errb.String())
		}
	}
}

func TestGracefulShutdownFinishesSessions(t *testing.T) {
	h := newHarness(t, nil)
	c, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("alice@nopolicy.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@example.org", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	msg := message("alice@nopolicy.example", "in flight during shutdown")
	io.WriteString(w, msg[:40])
	go h.stop() // SIGTERM equivalent while the DATA is half sent
	time.Sleep(300 * time.Millisecond)
	io.WriteString(w, msg[40:])
	if err := w.Close(); err != nil {
		t.Fatalf("the message in flight at shutdown was not accepted: %v", err)
	}
	h.stop()
	// Accepted means delivered now or after the next start.
	if h.sink.Count() == 0 {
		h.restart()
	}
	if _, err := h.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestOneShotCommandsWithoutServe(t *testing.T) {
	h := newHarness(t, nil)
	h.sink.Close()
	if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "queued")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a failed delivery attempt", func() bool {
		out, _ := queueList(t, h)
		return strings.Contains(out, "connect")
	})
	h.stop()
	// No serve now: the command opens the state itself.
	out, err := queueList(t, h)
	if err != nil || !strings.Contains(out, "1 message(s)") || !strings.Contains(out, "alice@nopolicy.example") {
		t.Fatalf("queue list without serve: %v\n%s", err, out)
	}
	// queue flush attempts what it flushed itself: still down, then up.
	if out, err := runCmd(t, h, "queue", "flush"); err != nil || !strings.Contains(out, "1 deferred message(s) retried now; 1 message(s) in the queue") {
		t.Errorf("queue flush without serve, downstream down: %v\n%s", err, out)
	}
	if err := h.sink.Restart(); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, h, "queue", "flush"); err != nil || !strings.Contains(out, "1 deferred message(s) retried now; 0 message(s) in the queue") {
		t.Errorf("queue flush without serve, downstream up: %v\n%s", err, out)
	}
	if got := h.sink.Count(); got != 1 {
		t.Errorf("the sink got %d messages after queue flush, want 1", got)
	}
	if out, err := runCmd(t, h, "reports", "preview"); err != nil {
		t.Errorf("reports preview without serve: %v\n%s", err, out)
	}
}

// queue show prints a waiting message as it will be delivered; queue
// delete removes it without delivery or DSN, through a running serve or
// without one.
func TestQueueShowAndDelete(t *testing.T) {
	h := newHarness(t, nil)
	h.sink.Close()
	for i := 0; i < 2; i++ {
		if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", fmt.Sprint("stuck ", i))); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	waitFor(t, 10*time.Second, "two messages queued after a failed attempt", func() bool {
		out, _ := queueList(t, h)
		ids = nil
		for _, line := range strings.Split(out, "\n")[1:] {
			// ID KIND AGE SIZE FROM TO ATTEMPTS ...
			if f := strings.Fields(line); len(f) > 6 && f[1] == "mail" && f[6] != "0" {
				ids = append(ids, f[0])
			}
		}
		return len(ids) == 2
	})
	out, err := runCmd(t, h, "queue", "show", ids[0])
	if err != nil {
		t.Fatalf("queue show: %v\n%s", err, out)
	}
	envelope, msg, ok := strings.Cut(out, "\n\n")
	if !ok || !strings.Contains(envelope, "ID: "+ids[0]) || !strings.Contains(envelope, "From: alice@nopolicy.example") ||
		!strings.Contains(envelope, "To: bob@example.org") || !strings.Contains(envelope, "Last-Error:") {
		t.Errorf("queue show envelope:\n%s", envelope)
	}
	if !strings.HasPrefix(msg, "Authentication-Results: ") || !strings.Contains(msg, "\r\nReceived: ") || !strings.Contains(msg, "Subject: stuck ") {
		t.Errorf("queue show message:\n%.400s", msg)
	}

	if out, err := runCmd(t, h, "queue", "delete", ids[0]); err != nil || !strings.Contains(out, ids[0]+" deleted") {
		t.Fatalf("queue delete with serve: %v\n%s", err, out)
	}
	if _, err := runCmd(t, h, "queue", "delete", ids[0]); err == nil {
		t.Error("deleting a message twice succeeded")
	}
	h.stop()
	if out, err := runCmd(t, h, "queue", "delete", ids[1]); err != nil || !strings.Contains(out, ids[1]+" deleted") {
		t.Fatalf("queue delete without serve: %v\n%s", err, out)
	}
	if out, err := queueList(t, h); err != nil || !strings.Contains(out, "0 message(s)") {
		t.Errorf("after deleting both: %v\n%s", err, out)
	}
	if err := h.sink.Restart(); err != nil {
		t.Fatal(err)
	}
	h.restart()
	time.Sleep(300 * time.Millisecond)
	if n := h.sink.Count() + h.out.Count(); n != 0 {
		t.Errorf("%d messages delivered (or bounced) after both were deleted", n)
	}
}

// A one-shot command asking a running serve ends when its context does
// (Ctrl-C), and does not then try to open the state itself.
func TestControlRequestFollowsContext(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := callServer(ctx, h.cfg.StateDir, "queue-list", "", io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	var out strings.Builder
	if err := callServer(context.Background(), h.cfg.StateDir, "queue-list", "", &out); err != nil || !strings.Contains(out.String(), "message(s)") {
		t.Errorf("queue list through serve: %v %q", err, out.String())
	}
}
