package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"dmarcgate/config"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

func testOptions(n, c, size int) options {
	return options{n: n, c: c, size: size, domains: 3, directOnly: true}
}

func TestDirectRunCountsEveryMessage(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{Discard: true})
	o := testOptions(50, 5, 2048)
	o.spoofed = 20
	w, err := newWorkload(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := directRun(context.Background(), wrapSink(sink), w, o.c)
	if err != nil {
		t.Fatal(err)
	}
	if s.sent != 50 || s.accepted != 50 || s.failed != 0 || s.perm != 0 {
		t.Fatalf("summary = %+v, want 50 accepted", s)
	}
	if sink.Count() != 50 {
		t.Errorf("sink count = %d, want 50", sink.Count())
	}
	if s.p50 <= 0 || s.p99 < s.p50 || s.rate <= 0 {
		t.Errorf("p50 %v, p99 %v, rate %v", s.p50, s.p99, s.rate)
	}
	if s.spoofedAccepted != 10 {
		t.Errorf("spoofed accepted by the sink = %d, want 10", s.spoofedAccepted)
	}
	// Each worker connects on its first message and keeps the connection.
	if c := sink.Connections(); c < 1 || c > 5 {
		t.Errorf("connections = %d, want 1 to 5", c)
	}
}

// The sink runs in a process of its own unless -sink-in-process; the row
// says which.
func TestRunDirectOnlyPrintsRow(t *testing.T) {
	for args, label := range map[string]string{"": "direct ", "-sink-in-process": "direct, sink in-process "} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), strings.Fields("-direct-only -n 50 -c 5 -size 1024 "+args), &out, &errOut)
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr: %s", args, code, errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], label) || !strings.Contains(lines[1], " 50 ") {
			t.Fatalf("%s: output:\n%s", args, out.String())
		}
	}
}

func TestRunBadUsage(t *testing.T) {
	for _, args := range []string{
		"-n 10",                          // no -gateway
		"-direct-only -n 0",              // no messages
		"-direct-only -c 0",              // no connections
		"-direct-only -size 10",          // below minSize
		"-direct-only -spoofed 101",      // not a percentage
		"-direct-only -domains 0",        // no sender domain
		"-direct-only extra",             // stray argument
		"-direct-only -nosuchflag",       // unknown flag
		"-direct-only -size 99999999999", // beyond maxSize
		"-direct-only -rounds 0",         // no round
		"-direct-only -per-conn -1",      // not a count
		"-gateway x -auth-cost -auth",    // -auth-cost runs both itself
		"-gateway x -auth-cost -spoofed 10",
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), strings.Fields(args), &out, &errOut); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if errOut.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

// TestClientsDeliver: with either client every message arrives whole,
// with its envelope and its size announced at MAIL, whatever its dots.
func TestClientsDeliver(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) { testClientDelivers(t, pipelining) })
	}
}

func testClientDelivers(t *testing.T, pipelining bool) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	o := testOptions(10, 2, 1024)
	o.pipelining = pipelining
	w, err := newWorkload(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.legit[0].data = append([]byte(".leading dot\r\n"), w.legit[0].data...)
	s := summarize(runLoad(context.Background(), sink.Addr(), w, o.c))
	if s.accepted != 10 || s.failed != 0 {
		t.Fatalf("summary = %+v, want 10 accepted", s)
	}
	got := map[string]string{} // data: MAIL FROM
	for _, m := range sink.Messages() {
		if len(m.To) != 1 || m.To[0] != recipient {
			t.Fatalf("recipients %v", m.To)
		}
		if m.Size != int64(len(m.Data)) {
			t.Errorf("SIZE=%d announced for %d bytes", m.Size, len(m.Data))
		}
		got[string(m.Data)] = m.From
	}
	for i := range min(10, len(w.legit)) {
		if from, ok := got[string(w.legit[i].data)]; !ok || from != w.legit[i].from {
			t.Errorf("message %d did not arrive as sent (MAIL FROM %q)", i, from)
		}
	}
}

// TestPerConnQuitsAndReconnects: with -per-conn M each connection carries
// M transactions and ends with QUIT, with either client.
func TestPerConnQuitsAndReconnects(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		sink := smtpsink.Start(t, smtpsink.Options{Discard: true})
		o := testOptions(12, 1, 1024) // one client: how many connections is exact
		o.pipelining, o.perConn = pipelining, 3
		w, err := newWorkload(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := summarize(runLoad(context.Background(), sink.Addr(), w, o.c))
		if s.accepted != 12 || s.failed != 0 {
			t.Fatalf("pipelining %v: summary = %+v, want 12 accepted", pipelining, s)
		}
		if c := sink.Connections(); c != 4 {
			t.Errorf("pipelining %v: %d connections for 12 messages, 3 per connection, want 4", pipelining, c)
		}
		for deadline := time.Now().Add(5 * time.Second); sink.Open() > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("pipelining %v: %d connections still open after the run", pipelining, sink.Open())
			}
		}
	}
}

// TestTLSClients: with -tls both clients say STARTTLS before the first
// transaction of every connection.
func TestTLSClients(t *testing.T) {
	conf, err := smtpsink.SelfSignedTLS("sink.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, pipelining := range []bool{false, true} {
		sink := smtpsink.Start(t, smtpsink.Options{TLS: conf})
		o := testOptions(6, 1, 1024)
		o.pipelining, o.perConn, o.tls = pipelining, 2, true
		w, err := newWorkload(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s := summarize(runLoad(context.Background(), sink.Addr(), w, o.c)); s.accepted != 6 || s.failed != 0 {
			t.Fatalf("pipelining %v: summary = %+v, want 6 accepted", pipelining, s)
		}
		for i, m := range sink.Messages() {
			if !m.TLS {
				t.Errorf("pipelining %v: message %d arrived without TLS", pipelining, i)
			}
		}
		// go-smtp starts a new session after STARTTLS: the sink counts two
		// per connection.
		if c := sink.Connections(); c != 6 {
			t.Errorf("pipelining %v: %d sessions, want 6 (3 connections)", pipelining, c)
		}
	}
}

// The gateway offers STARTTLS with the certificate dmarcload writes.
func TestGatewayRunWithTLS(t *testing.T) {
	runGateway(t, "-n 40 -c 4 -size 1024 -domains 2 -tls -pipelining -per-conn 2", "sink received 40 of 40 accepted")
}

func TestRefusalsAndReconnects(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		sink := smtpsink.Start(t, smtpsink.Options{Discard: true})
		sink.SetDataReply(func(string, []string) *smtp.SMTPError {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "no"}
		})
		o := testOptions(20, 2, 1024)
		o.pipelining = pipelining
		w, err := newWorkload(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := summarize(runLoad(context.Background(), sink.Addr(), w, 2))
		if s.perm != 20 || s.refusals["550 5.7.1"] != 20 || s.legitRefused != 20 {
			t.Fatalf("pipelining %v: summary = %+v, want 20 refusals 550 5.7.1", pipelining, s)
		}
		if c := sink.Connections(); c < 1 || c > 2 {
			t.Errorf("pipelining %v: connections = %d, want 1 or 2: a refusal must not drop the connection", pipelining, c)
		}
	}
	w, err := newWorkload(testOptions(20, 2, 1024), nil)
	if err != nil {
		t.Fatal(err)
	}

	// Nothing listens on a closed port: every transaction fails, quickly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	start := time.Now()
	s := summarize(runLoad(context.Background(), closed, w, 2))
	if s.failed != 20 || len(s.errSample) == 0 || s.rate != 0 {
		t.Fatalf("summary = %+v, want 20 failures", s)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("failing load took %v", took)
	}
}

func TestSpoofedSpreadEvenly(t *testing.T) {
	for _, tc := range []struct{ n, pct, want int }{
		{100, 50, 50}, {100, 0, 0}, {100, 100, 100}, {7, 50, 3}, {20000, 33, 6600}, {1, 99, 0},
	} {
		w := &workload{n: tc.n, spoofedPct: tc.pct}
		got, longestRun, run := 0, 0, 0
		for i := range tc.n {
			if w.isSpoofed(i) {
				got++
				run++
				longestRun = max(longestRun, run)
			} else {
				run = 0
			}
		}
		if got != tc.want || w.spoofedCount() != tc.want {
			t.Errorf("n=%d pct=%d: %d spoofed (count says %d), want %d", tc.n, tc.pct, got, w.spoofedCount(), tc.want)
		}
		if tc.pct > 0 && tc.pct <= 50 && longestRun > 1 {
			t.Errorf("n=%d pct=%d: %d spoofed in a row", tc.n, tc.pct, longestRun)
		}
	}
}

func TestBuildMessageExactSize(t *testing.T) {
	for _, size := range []int{minSize, 1000, 4096, 100_000} {
		for _, seed := range []int{0, 35, 63} {
			data := buildMessage(seed, "legit", "sender1.example", size)
			if len(data) != size {
				t.Errorf("size %d seed %d: %d bytes", size, seed, len(data))
			}
			if !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Contains(data, []byte("\r\n.")) {
				t.Errorf("size %d: bad line ends or a line starting with a dot", size)
			}
			for _, line := range strings.Split(string(data), "\r\n") {
				if len(line) > 998 || strings.Contains(line, "\n") {
					t.Fatalf("size %d: bad line %q", size, line)
				}
			}
		}
	}
}

// TestSignedMessagesVerify checks the pools against the zone as a
// receiver would see them: signatures verify with the published keys, and
// SPF and DMARC records are served.
func TestSignedMessagesVerify(t *testing.T) {
	o := testOptions(10, 1, 1024)
	o.domains = 2
	o.spoofed = 50
	keys, err := generateKeys(o.domains)
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorkload(o, keys)
	if err != nil {
		t.Fatal(err)
	}
	zone, err := buildZone(o.domains, keys, false)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := resolvertest.Listen(zone)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lookup := func(name string) ([]string, error) { return lookupTXT(t, srv.Addr(), name) }

	for i, m := range []message{w.message(0), w.message(1), w.message(2)} {
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		switch {
		case m.spoofed && len(verifs) != 0:
			t.Errorf("message %d: spoofed but signed", i)
		case !m.spoofed && (len(verifs) != 1 || verifs[0].Err != nil):
			t.Errorf("message %d: verifications %+v, want one pass", i, verifs)
		case !m.spoofed && !strings.HasSuffix(m.from, "@"+verifs[0].Domain):
			t.Errorf("message %d: MAIL FROM %s not aligned with d=%s", i, m.from, verifs[0].Domain)
		case m.spoofed && m.from != "bounce@"+spooferDomain:
			t.Errorf("message %d: spoofed MAIL FROM %s", i, m.from)
		}
	}
	for name, want := range map[string]string{
		"_dmarc." + senderDomain(1): "v=DMARC1; p=reject",
		senderDomain(0):             spfLoopback,
		spooferDomain:               spfLoopback,
	} {
		got, err := lookupTXT(t, srv.Addr(), name)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("TXT %s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func lookupTXT(t *testing.T, server, name string) ([]string, error) {
	t.Helper()
	m := new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.SetEdns0(1232, false)
	c := &dns.Client{Timeout: 2 * time.Second}
	resp, _, err := c.Exchange(m, server)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range resp.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out, nil
}

func TestStandaloneDNSClose(t *testing.T) {
	srv, err := resolvertest.Listen(resolvertest.Zone{"a.test.": {`a.test. 60 IN TXT "x"`}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lookupTXT(t, srv.Addr(), "a.test"); err != nil || len(got) != 1 {
		t.Fatalf("before Close: %q, %v", got, err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	c := &dns.Client{Net: "tcp", Timeout: 500 * time.Millisecond}
	if _, _, err := c.Exchange(new(dns.Msg).SetQuestion("a.test.", dns.TypeTXT), srv.Addr()); err == nil {
		t.Error("server still answers after Close")
	}
	if _, err := resolvertest.Listen(resolvertest.Zone{"b.test.": {"b.test. IN BOGUS x"}}); err == nil {
		t.Error("Listen accepted a malformed zone")
	}
	if err := resolvertest.Start(t, nil).Close(); err == nil {
		t.Error("Close of a test server succeeded")
	}
}

func TestGatewayLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l := gatewayLog{path: path}
	if tail := l.tail(); !strings.Contains(tail, "no log") {
		t.Errorf("tail of a missing log = %q", tail)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if tail := l.tail(); tail != "  (nothing)" {
		t.Errorf("tail of an empty log = %q", tail)
	}
	go func() {
		time.Sleep(3 * logPoll)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.WriteString("time=x level=INFO msg=starting\ntime=x level=INFO msg=liste")
		time.Sleep(2 * logPoll)
		f.WriteString("ning addr=127.0.0.1:2525\ntime=x msg=listening addr=127.0.0.1:2526\n")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if addr := l.listening(ctx, nil); addr != "127.0.0.1:2525" {
		t.Errorf("listening = %q, want the first address", addr)
	}
	if tail := l.tail(); !strings.HasPrefix(tail, "  time=x level=INFO msg=starting") || strings.Count(tail, "\n") != 2 {
		t.Errorf("tail = %q", tail)
	}

	// A long log: only its last lines, whole.
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tail := l.tail()
	if !strings.HasPrefix(tail, "  line 19985\n") || !strings.HasSuffix(tail, "  line 19999") || strings.Count(tail, "\n") != logTailLines-1 {
		t.Errorf("tail of a long log = %q", tail)
	}

	// A gateway that exits without listening ends the wait.
	exited := make(chan struct{})
	close(exited)
	if err := os.WriteFile(path, []byte("time=x level=ERROR msg=failed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if addr := l.listening(ctx, exited); addr != "" {
		t.Errorf("listening after exit = %q", addr)
	}
}

func TestGatewayThatFailsToStart(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fake-gateway")
	script := "#!/bin/sh\necho 'level=ERROR msg=\"config: bad key\"' >&2\nexit 2\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-gateway", bin, "-n", "10", "-c", "2", "-size", "1024"}, &out, &errOut)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	if msg := errOut.String(); !strings.Contains(msg, "exited before listening") || !strings.Contains(msg, "bad key") {
		t.Errorf("stderr = %q", msg)
	}
}

// gatewayBinary builds the real gateway once for the tests that run it;
// they are skipped while it does not build.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the gateway")
	}
	b := buildGateway()
	if b.err != nil {
		t.Skipf("gateway does not build: %v\n%s", b.err, b.out)
	}
	return b.bin
}

type builtGateway struct {
	bin string
	out []byte
	err error
}

// buildGateway builds into a directory TestMain removes.
var buildGateway = sync.OnceValue(func() builtGateway {
	bin := filepath.Join(testBinDir, "dmarcgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dmarcgate")
	build.Dir = filepath.Join("..", "..")
	out, err := build.CombinedOutput()
	return builtGateway{bin, out, err}
})

var testBinDir string

func TestMain(m *testing.M) {
	// The sink's own process is this test binary, run again.
	if mode := os.Getenv(sinkProcessEnv); mode != "" {
		os.Exit(serveSinkProcess(mode, os.Stdin, os.Stdout, os.Stderr))
	}
	var err error
	if testBinDir, err = os.MkdirTemp("", "dmarcload-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(testBinDir)
	os.Exit(code)
}

// TestGatewayRun builds the real gateway and runs a small load through it
// with signed and spoofed messages; it is skipped while the gateway does
// not build.
func TestGatewayRun(t *testing.T) {
	runGateway(t, "-n 100 -c 10 -size 2048 -auth -spoofed 50 -domains 2",
		"gateway+auth 50% spoofed", "sink received 50 of 50 accepted", "spoofed: 50 sent, 0 accepted, 0 relayed", `"550 5.7.26" x50`)
}

// runGateway runs dmarcload with args against the real gateway, which
// must succeed and print every line of want; it returns the output.
func runGateway(t *testing.T, args string, want ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"-gateway", gatewayBinary(t)}, strings.Fields(args)...), &out, &errOut)
	t.Logf("output:\n%s%s", out.String(), errOut.String())
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	return out.String()
}

func TestGatewayConfigIsValid(t *testing.T) {
	setup := gatewaySetup{
		dir: t.TempDir(), relay: "127.0.0.1:1", outbound: "127.0.0.1:2", dns: "127.0.0.1:3", maxConns: 60,
	}
	cfg, err := config.Parse([]byte(setup.configText()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.MaxConnectionsPerIP != 60 || cfg.Relay.Address != "127.0.0.1:1" || cfg.Reporting.Enabled || cfg.Metrics.Listen != "" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.DNS.Servers) != 1 || cfg.DNS.Servers[0] != "127.0.0.1:3" {
		t.Errorf("dns servers = %v", cfg.DNS.Servers)
	}
}

func TestCPUPerMessage(t *testing.T) {
	r := &gatewayResult{summary: summary{sent: 4}, cpu: 2 * time.Millisecond}
	if got := r.cpuPerMessage(); got != ", 500 µs per message" {
		t.Errorf("cpuPerMessage = %q", got)
	}
	if got := (&gatewayResult{cpu: time.Second}).cpuPerMessage(); got != "" {
		t.Errorf("with nothing sent: %q", got)
	}
}

// -auth-cost runs the gateway without and with DKIM in every round and
// gives the medians.
func TestAuthCostRounds(t *testing.T) {
	out := runGateway(t, "-n 60 -c 5 -size 1024 -domains 2 -auth-cost -rounds 2",
		"median of 2 rounds: direct", "median of 2 rounds: gateway ", "median of 2 rounds: gateway+auth ",
		"authentication costs", "sink received 60 of 60 accepted")
	if n := strings.Count(out, "\ngateway+auth "); n != 2 {
		t.Errorf("%d gateway+auth rows, want 2", n)
	}
}

func TestRoundsSummary(t *testing.T) {
	fig := func(label string, rate float64, p99 time.Duration) gatewayFigures {
		return gatewayFigures{label, summary{rate: rate, p99: p99}}
	}
	rounds := []round{
		{summary{rate: 1000}, []gatewayFigures{fig("gateway", 400, 10*time.Millisecond), fig("gateway+auth", 300, 20*time.Millisecond)}},
		{summary{rate: 2000}, []gatewayFigures{fig("gateway", 500, 12*time.Millisecond), fig("gateway+auth", 450, 14*time.Millisecond)}},
		{summary{rate: 1500}, []gatewayFigures{fig("gateway", 600, 30*time.Millisecond), fig("gateway+auth", 300, 40*time.Millisecond)}},
	}
	got := strings.Join(roundsSummary(rounds, "authentication"), "\n")
	for _, want := range []string{
		"median of 3 rounds: direct 1500 msgs/s",
		"median of 3 rounds: gateway 500 msgs/s, 0.400x direct (each: 0.400 0.250 0.400), p99 12.0ms",
		"median of 3 rounds: gateway+auth 300 msgs/s, 0.225x direct (each: 0.300 0.225 0.200), p99 20.0ms",
		"authentication costs 25.0% of the gateway's throughput, median of 3 rounds (each: 25.0% 10.0% 50.0%)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of an even count = %v", m)
	}
	if m := median(nil); m != 0 {
		t.Errorf("median of nothing = %v", m)
	}
}

// The sink's own process counts what it receives, the spoofer's messages
// apart, starts again from zero on reset, and exits when told.
func TestProcessSink(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			p, err := startProcessSink(tls)
			if err != nil {
				t.Fatal(err)
			}
			defer p.kill()
			o := testOptions(40, 4, 1024)
			o.spoofed, o.tls = 25, tls
			w, err := newWorkload(o, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := directRun(context.Background(), p, w, o.c)
			if err != nil {
				t.Fatal(err)
			}
			// With -tls a client fails unless the sink offers STARTTLS.
			if s.accepted != 40 || s.failed != 0 {
				t.Fatalf("summary = %+v, want 40 accepted", s)
			}
			if n, spoofed, err := p.Counts(); n != 40 || spoofed != 10 || err != nil {
				t.Errorf("counts = %d, %d, %v; want 40, 10", n, spoofed, err)
			}
			if err := p.Reset(); err != nil {
				t.Fatal(err)
			}
			if n, spoofed, err := p.Counts(); n != 0 || spoofed != 0 || err != nil {
				t.Errorf("after reset: counts = %d, %d, %v", n, spoofed, err)
			}
			if err := p.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if !p.cmd.ProcessState.Exited() || p.cmd.ProcessState.Pid() == os.Getpid() {
				t.Errorf("the sink process did not exit on its own: %v", p.cmd.ProcessState)
			}
			if _, _, err := p.Counts(); err == nil {
				t.Error("counts from a closed sink process: no error")
			}
		})
	}
}

// -arc-cost runs the gateway with signed mail without and with a list's
// ARC set in every round and gives what ARC verification costs.
func TestARCCostRounds(t *testing.T) {
	out := runGateway(t, "-n 40 -c 4 -size 4096 -domains 2 -arc-cost -rounds 2",
		"median of 2 rounds: gateway+auth ", "median of 2 rounds: gateway+auth+arc ",
		"ARC verification costs", "sink received 40 of 40 accepted")
	if n := strings.Count(out, "\ngateway+auth+arc "); n != 2 {
		t.Errorf("%d gateway+auth+arc rows, want 2", n)
	}
}
