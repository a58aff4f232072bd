package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
	"dmarcgate/store"
)

// scrape returns the body and status of a GET on the metrics listener.
func scrape(t *testing.T, h *harness, path string) (string, int) {
	t.Helper()
	resp, err := http.Get("http://" + h.metrics + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.StatusCode
}

// seriesValue finds one series (name with its labels, as the text format
// writes them) in a scrape; ok is false when it is absent.
func seriesValue(body, series string) (v float64, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if rest, found := strings.CutPrefix(line, series+" "); found {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func TestMetricsSeriesExistAtZero(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.ARC.Verify, c.ARC.TrustedSealers = true, []string{"lists.example"} })
	body, code := scrape(t, h, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	// No mail has passed through this gateway's counters below in most
	// runs, but other tests of the package share the registry: presence
	// is what is checked, and build_info's value.
	for _, s := range []string{
		`dmarcgate_messages_total{outcome="rejected"}`,
		`dmarcgate_messages_total{outcome="tempfail"}`,
		`dmarcgate_recipients_rejected_total{reason="relay_denied"}`,
		`dmarcgate_smtp_connections_total{result="refused"}`,
		`dmarcgate_smtp_sessions_total{transport="tls"}`,
		`dmarcgate_smtp_sessions_total{transport="plain"}`,
		`dmarcgate_delivery_attempts_total{outcome="bounced",route="relay"}`,
		`dmarcgate_delivery_recipients_total{outcome="deferred",route="outbound"}`,
		`dmarcgate_report_messages_total{kind="aggregate",outcome="queued"}`,
		`dmarcgate_report_messages_total{kind="failure",outcome="failed"}`,
		`dmarcgate_failure_reports_total{outcome="rate_limited"}`,
		`dmarcgate_reports_suppressed_total{reason="unauthorized"}`,
		`dmarcgate_dmarc_overrides_total{action="none",reason="forwarded"}`,
		`dmarcgate_arc_overrides_total{sealer="lists.example"}`,
		`dmarcgate_arc_results_total{result="fail"}`,
		`dmarcgate_auth_results_total{method="dmarc",result="temperror"}`,
		`dmarcgate_dns_queries_total{outcome="nxdomain",type="TXT"}`,
		`dmarcgate_quarantine_held`,
		`dmarcgate_recipient_verify_total{result="unknown",source="probe"}`,
	} {
		if _, ok := seriesValue(body, s); !ok {
			t.Errorf("missing %s", s)
		}
	}
	if v, ok := seriesValue(body, `dmarcgate_build_info{version="devel"}`); !ok || v != 1 {
		t.Errorf("dmarcgate_build_info{version=\"devel\"} = %v, %v; want 1", v, ok)
	}
}

func TestDeliveryAttemptsApartFromRecipients(t *testing.T) {
	h := newHarness(t, nil)
	const attempts = `dmarcgate_delivery_attempts_total{outcome="delivered",route="relay"}`
	const rcpts = `dmarcgate_delivery_recipients_total{outcome="delivered",route="relay"}`
	before, _ := scrape(t, h, "/metrics")
	a0, _ := seriesValue(before, attempts)
	r0, _ := seriesValue(before, rcpts)
	to := []string{"a@example.org", "b@example.org", "c@example.org"}
	if err := h.send("alice@good.example", to, message("alice@good.example", "three")); err != nil {
		t.Fatal(err)
	}
	var a1, r1 float64
	waitFor(t, 5*time.Second, "the delivery counted", func() bool {
		after, _ := scrape(t, h, "/metrics")
		a1, _ = seriesValue(after, attempts)
		r1, _ = seriesValue(after, rcpts)
		return r1-r0 >= 3
	})
	if a1-a0 != 1 || r1-r0 != 3 {
		t.Errorf("one message to three recipients: attempts +%v, recipients +%v; want +1, +3", a1-a0, r1-r0)
	}
}

func TestReadyzFollowsDownstream(t *testing.T) {
	old := readyCacheFor
	readyCacheFor = 10 * time.Millisecond
	t.Cleanup(func() { readyCacheFor = old })
	h := newHarness(t, nil)
	if body, code := scrape(t, h, "/readyz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/readyz with the sink up = %d %q; want 200 ok", code, body)
	}
	if err := h.sink.Close(); err != nil {
		t.Fatal(err)
	}
	var body string
	waitFor(t, 5*time.Second, "/readyz to fail", func() bool {
		var code int
		body, code = scrape(t, h, "/readyz")
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "downstream "+h.cfg.Relay.Address+" unreachable") {
		t.Errorf("/readyz body %q does not name the downstream", body)
	}
	if _, code := scrape(t, h, "/healthz"); code != 200 {
		t.Errorf("/healthz = %d with the downstream down; liveness must not follow it", code)
	}
	if err := h.sink.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "/readyz to recover", func() bool {
		_, code := scrape(t, h, "/readyz")
		return code == 200
	})
}

func TestReadinessFailsWhenDatabaseCannotCommit(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "x.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := &readiness{relay: "127.0.0.1:1", db: db}
	if err := r.checkCommit(); err != nil {
		t.Fatalf("open database: %v", err)
	}
	db.Close()
	if err := r.checkCommit(); err == nil || !strings.Contains(err.Error(), "database cannot commit") {
		t.Fatalf("closed database: %v; want a commit error", err)
	}
}

func TestServeLogsStartLine(t *testing.T) {
	h := newHarness(t, nil)
	logs := h.logs.String()
	want := []string{`msg="dmarcgate starting"`, "version=devel", "smtp=" + h.addr, "tls=false",
		"relay=" + h.cfg.Relay.Address, "relay_protocol=smtp", "metrics=" + h.metrics}
	for _, w := range want {
		if !strings.Contains(logs, w) {
			t.Errorf("start line lacks %s in:\n%s", w, logs)
		}
	}
	if n := strings.Count(logs, `msg="dmarcgate starting"`); n != 1 {
		t.Errorf("%d start lines; want 1", n)
	}
}

func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		var out strings.Builder
		if code := run(context.Background(), []string{arg}, strings.NewReader(""), &out, io.Discard); code != 0 {
			t.Fatalf("%s: exit %d", arg, code)
		}
		if got := out.String(); got != "dmarcgate devel\n" {
			t.Errorf("%s = %q", arg, got)
		}
	}
}

// A failure report is counted when queued and again when delivered.
func TestReportMailCountedQueuedThenDelivered(t *testing.T) {
	h := newHarness(t, nil)
	const queued = `dmarcgate_report_messages_total{kind="failure",outcome="queued"}`
	const done = `dmarcgate_report_messages_total{kind="failure",outcome="delivered"}`
	before, _ := scrape(t, h, "/metrics")
	q0, _ := seriesValue(before, queued)
	d0, _ := seriesValue(before, done)
	// good.example asks for fo=1 reports: SPF passes, no DKIM signature.
	if err := h.send("alice@good.example", []string{"bob@example.org"}, message("alice@good.example", "ruf")); err != nil {
		t.Fatal(err)
	}
	var q1, d1 float64
	waitFor(t, 10*time.Second, "the failure report delivered and counted", func() bool {
		after, _ := scrape(t, h, "/metrics")
		q1, _ = seriesValue(after, queued)
		d1, _ = seriesValue(after, done)
		return d1 > d0
	})
	if q1-q0 != 1 || d1-d0 != 1 {
		t.Errorf("one failure report: queued +%v, delivered +%v; want +1, +1", q1-q0, d1-d0)
	}
}

// Sessions are counted at their end by transport.
func TestSessionsCountedByTransport(t *testing.T) {
	certFile, keyFile := writeTestCert(t, t.TempDir())
	h := newHarness(t, func(c *config.Config) { c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile })
	const tlsSeries = `dmarcgate_smtp_sessions_total{transport="tls"}`
	const plainSeries = `dmarcgate_smtp_sessions_total{transport="plain"}`
	before, _ := scrape(t, h, "/metrics")
	t0, _ := seriesValue(before, tlsSeries)
	p0, _ := seriesValue(before, plainSeries)
	c, err := smtp.DialStartTLS(h.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	waitFor(t, 5*time.Second, "the TLS session counted", func() bool {
		after, _ := scrape(t, h, "/metrics")
		t1, _ := seriesValue(after, tlsSeries)
		p1, _ := seriesValue(after, plainSeries)
		if p1 != p0 {
			t.Fatalf("a STARTTLS session counted as plain (+%v)", p1-p0)
		}
		return t1-t0 == 1
	})
	if err := h.send("alice@good.example", []string{"bob@example.org"}, message("alice@good.example", "plain")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the plain session counted", func() bool {
		after, _ := scrape(t, h, "/metrics")
		p1, _ := seriesValue(after, plainSeries)
		return p1-p0 == 1
	})
}
