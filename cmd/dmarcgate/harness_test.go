package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	toml "github.com/pelletier/go-toml/v2"

	"dmarcgate/config"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// harness runs a whole gateway in-process on 127.0.0.1:0 with an in-process
// DNS server, a sink as the downstream and a second sink as the outbound
// smarthost (DSNs, reports).
type harness struct {
	t          testing.TB
	dir        string
	dns        *resolvertest.Server
	sink       *smtpsink.Sink // relay.address
	out        *smtpsink.Sink // outbound.smarthost and reporting.smarthost
	cfg        *config.Config
	configPath string
	addr       string // SMTP listener
	metrics    string // metrics listener
	cancel     context.CancelFunc
	done       chan error
	stopOnce   sync.Once
	logs       lockedBuffer // the gateway's log, also written to the test's output
}

// lockedBuffer is a bytes.Buffer safe for the gateway's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const baseConfig = `
hostname = "mx.test.example"
state_dir = %q
[log]
level = "debug"
[smtp]
listen = ["127.0.0.1:0"]
accept_domains = ["example.org", "example.net"]
read_timeout = "5s"
[dns]
servers = [%q]
timeout = "500ms"
[relay]
address = %q
[queue]
retry_first = "1s"
retry_max = "2s"
[outbound]
smarthost = %q
[reporting]
org_name = "Test Receiver"
email = "dmarc-reports@example.org"
smarthost = %q
[metrics]
listen = "127.0.0.1:0"
`

// testZone serves a few sender domains: SPF, DKIM keys and DMARC records.
func testZone() resolvertest.Zone {
	return resolvertest.Zone{
		"good.example.":          {`good.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`, `good.example. 300 IN A 192.0.2.1`},
		"_dmarc.good.example.":   {`_dmarc.good.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:agg@good.example; ruf=mailto:ruf@good.example; fo=1"`},
		"forwarder.example.":     {`forwarder.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`},
		"quar.example.":          {`quar.example. 300 IN TXT "v=spf1 -all"`, `quar.example. 300 IN A 192.0.2.3`},
		"_dmarc.quar.example.":   {`_dmarc.quar.example. 300 IN TXT "v=DMARC1; p=quarantine"`},
		"none.example.":          {`none.example. 300 IN TXT "v=spf1 -all"`, `none.example. 300 IN A 192.0.2.4`},
		"_dmarc.none.example.":   {`_dmarc.none.example. 300 IN TXT "v=DMARC1; p=none"`},
		"nopolicy.example.":      {`nopolicy.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`},
		"broken.example.":        {`broken.example. 300 IN TXT "v=spf1 -all"`},
		"_dmarc.broken.example.": {`_dmarc.broken.example. 300 IN TXT "v=DMARC1; p=reject"`},
		"example.org.":           {`example.org. 300 IN MX 10 mx.example.org.`},
		"mx.example.org.":        {`mx.example.org. 300 IN A 127.0.0.1`},
	}
}

func newHarness(t testing.TB, tweak func(*config.Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	h.dns = resolvertest.Start(t, testZone())
	_, bench := t.(*testing.B)
	h.sink = smtpsink.Start(t, smtpsink.Options{Hostname: "store.test", Discard: bench})
	h.out = smtpsink.Start(t, smtpsink.Options{Hostname: "smarthost.test"})
	doc := fmt.Sprintf(baseConfig, h.dir, h.dns.Addr(), h.sink.Addr(), h.out.Addr(), h.out.Addr())
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if tweak != nil {
		tweak(cfg)
	}
	h.cfg = cfg
	h.writeConfig()
	h.start()
	return h
}

// writeConfig saves the configuration so one-shot commands can load it.
func (h *harness) writeConfig() {
	data, err := toml.Marshal(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.configPath = filepath.Join(h.dir, "config.toml")
	if err := os.WriteFile(h.configPath, data, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// runCmd runs a one-shot command against this gateway's configuration.
func runCmd(t *testing.T, h *harness, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--config", h.configPath)
	if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
		return out.String(), fmt.Errorf("exit %d: %s", code, errb.String())
	}
	return out.String(), nil
}

func queueList(t *testing.T, h *harness) (string, error) {
	return runCmd(t, h, "queue", "list")
}

func (h *harness) start() {
	t := h.t
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done, h.stopOnce = cancel, make(chan error, 1), sync.Once{}
	ready := make(chan struct{})
	// Benchmarks still format every log line, for its cost, but drop it.
	logOut := io.MultiWriter(t.Output(), &h.logs)
	if _, bench := t.(*testing.B); bench {
		logOut = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() {
		h.done <- serveFrom(ctx, h.configPath, h.cfg, log, func(smtpAddrs []net.Addr, m net.Addr) {
			h.addr = smtpAddrs[0].String()
			if m != nil {
				h.metrics = m.String()
			}
			close(ready)
		})
	}()
	select {
	case <-ready:
	case err := <-h.done:
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start listening")
	}
	t.Cleanup(h.stop)
}

// stop shuts the gateway down gracefully and checks it ended cleanly.
func (h *harness) stop() {
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case err := <-h.done:
			if err != nil {
				h.t.Errorf("serve: %v", err)
			}
		case <-time.After(40 * time.Second):
			var dump strings.Builder
			pprof.Lookup("goroutine").WriteTo(&dump, 1)
			h.t.Errorf("serve did not stop; goroutines:\n%s", dump.String())
		}
	})
}

// restart stops and starts the gateway on the same state directory.
func (h *harness) restart() {
	h.stop()
	h.cfg.SMTP.Listen = []string{"127.0.0.1:0"}
	h.start()
}

// send delivers one message with a real SMTP client and returns the final
// reply error (nil for 250), failing the test on protocol trouble before DATA.
func (h *harness) send(from string, to []string, msg string) error {
	return sendTo(h.addr, "client.test", from, to, msg)
}

func sendTo(addr, helo, from string, to []string, msg string) error {
	return sendWith(addr, helo, from, to, msg, nil)
}

// sendWith sends one message with the MAIL parameters of opts (nil: none).
func sendWith(addr, helo, from string, to []string, msg string, opts *smtp.MailOptions) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		return err
	}
	if err := c.Mail(from, opts); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// smtpCode extracts the reply code and enhanced code of err ("" for nil).
func smtpCode(err error) string {
	if err == nil {
		return "250"
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	return "error: " + err.Error()
}

// message builds a CRLF message with the given From and extra headers.
func message(from, subject string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <bob@example.org>\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%d@test>\r\n", from, subject, time.Now().UnixNano())
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\nHello there.\r\nA second line.\r\n")
	return b.String()
}

// signer is a DKIM key published in the harness's DNS.
type signer struct {
	domain, selector string
	key              crypto.Signer
}

func (h *harness) newRSASigner(domain, selector string) *signer {
	h.t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		h.t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	h.publishKey(domain, selector, "rsa", pub)
	return &signer{domain, selector, key}
}

func (h *harness) newEd25519Signer(domain, selector string) *signer {
	h.t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		h.t.Fatal(err)
	}
	h.publishKey(domain, selector, "ed25519", pub)
	return &signer{domain, selector, key}
}

func (h *harness) publishKey(domain, selector, kind string, pub []byte) {
	rec := fmt.Sprintf("v=DKIM1; k=%s; p=%s", kind, base64.StdEncoding.EncodeToString(pub))
	name := selector + "._domainkey." + domain + "."
	h.dns.SetRecords(name, fmt.Sprintf("%s 300 IN TXT %s", name, quoteTXT(rec)))
}

// quoteTXT splits a long TXT value into 255-byte strings.
func quoteTXT(s string) string {
	var parts []string
	for len(s) > 200 {
		parts = append(parts, `"`+s[:200]+`"`)
		s = s[200:]
	}
	parts = append(parts, `"`+s+`"`)
	return strings.Join(parts, " ")
}

func (s *signer) sign(t testing.TB, msg string) string {
	t.Helper()
	var out bytes.Buffer
	opts := &dkim.SignOptions{Domain: s.domain, Selector: s.selector, Signer: s.key,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"}}
	if err := dkim.Sign(&out, strings.NewReader(msg), opts); err != nil {
		t.Fatalf("dkim sign: %v", err)
	}
	return out.String()
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
