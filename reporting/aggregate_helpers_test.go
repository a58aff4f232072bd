package reporting

import (
	"bufio"
	"bytes"
	"context"
	"dmarcgate/internal/needs"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dmarcgate/dmarcreport"
	"dmarcgate/policy"
	"dmarcgate/queue"
	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
	"dmarcgate/store"
)

const xsdPath = "../testdata/dmarc-aggregate/xsd/rfc9990-appendix-a.xsd"

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

// day0 is a UTC midnight: periods of 24h start there.
var day0 = time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)

func newClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a reporter wired to real parts: a bbolt file, the queue, an
// in-process DNS server and an SMTP sink as the reports' smarthost.
type env struct {
	t      *testing.T
	dir    string
	clock  *testClock
	dns    *resolvertest.Server
	res    *resolver.Client
	sink   *smtpsink.Sink
	db     *store.DB
	q      *queue.Queue
	rep    *Reporter
	cfg    Config
	closed bool
}

func newEnv(t *testing.T, zone resolvertest.Zone, tweak func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newClock(day0.Add(10 * time.Hour))}
	e.dns = resolvertest.Start(t, zone)
	res, err := resolver.New(resolver.Config{Servers: []string{e.dns.Addr()}, Timeout: 300 * time.Millisecond, NegativeTTL: time.Nanosecond, MaxTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	e.res = res
	e.sink = smtpsink.Start(t, smtpsink.Options{})
	e.cfg = Config{
		Enabled: true, OrgName: "Receiver Org", Email: "dmarc-reports@receiver.test",
		Smarthost: e.sink.Addr(), Hostname: "mx.receiver.test", Now: e.clock.Now,
	}
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.open()
	t.Cleanup(e.close)
	return e
}

// open (re)opens the database, queue and reporter, as a process start does.
func (e *env) open() {
	t := e.t
	t.Helper()
	db, err := store.Open(filepath.Join(e.dir, "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	var rep *Reporter
	q, err := queue.New(db, queue.Config{
		Dir: e.dir, Hostname: "mx.receiver.test", Resolver: e.res, Now: e.clock.Now,
		RetryFirst: time.Minute, RetryMax: time.Hour, DialTimeout: 2 * time.Second, CommandTimeout: 5 * time.Second,
		OnPermanentFailure: func(m *queue.Message, rcpt string, err error) { rep.OnPermanentFailure(m, rcpt, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.q = q
	rep, err = New(db, q, e.res, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.rep = rep
	e.closed = false
}

// close stops everything without any further writes (a crash, as far as
// the reporter is concerned).
func (e *env) close() {
	if e.closed {
		return
	}
	e.closed = true
	e.db.Close()
}

func (e *env) reopen() {
	e.close()
	e.open()
}

// record commits one message's event, as smtpd does.
func (e *env) record(ev *Event) {
	e.t.Helper()
	fn := e.rep.Record(ev)
	if fn == nil {
		e.t.Fatalf("Record returned nil for %+v", ev)
	}
	if err := e.db.Commit(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// previewOne is the single preview document of domain ("" = all, which
// must be one).
func (e *env) previewOne(domain string) []byte {
	e.t.Helper()
	docs, err := e.rep.Previews(domain)
	if err != nil || len(docs) != 1 {
		e.t.Fatalf("preview of %q: %v, %d documents", domain, err, len(docs))
	}
	return docs[0].XML
}

// send runs Send and delivers what it queued.
func (e *env) send(closeNow bool) Summary {
	e.t.Helper()
	sum, err := e.rep.Send(context.Background(), closeNow)
	if err != nil {
		e.t.Fatalf("Send: %v", err)
	}
	if err := e.q.RunOnce(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// msg describes a test message.
type msg struct {
	ip, from, mailFrom, rcpt string
	record                   string // DMARC record of the policy domain
	spf                      policy.Result
	dkim                     []policy.DKIMResult
	decision                 policy.Decision
}

// event builds the Event smtpd would hand over for m.
func event(t *testing.T, m msg) *Event {
	t.Helper()
	if m.record == "" {
		m.record = "v=DMARC1; p=reject; rua=mailto:rua@" + m.from
	}
	rec, err := policy.ParseRecord(m.record)
	if err != nil {
		t.Fatal(err)
	}
	if m.rcpt == "" {
		m.rcpt = "user@receiver.test"
	}
	if m.mailFrom == "" {
		m.mailFrom = "bounce@" + m.from
	}
	if m.spf == "" {
		m.spf = policy.Pass
	}
	if m.decision.Result == "" {
		m.decision = policy.Decision{Result: policy.Pass, SPFAligned: m.spf == policy.Pass,
			PolicyInForce: rec.P, Disposition: policy.ActionNone}
	}
	return &Event{
		Time: day0, SourceIP: net.ParseIP(m.ip), HELO: "client.test",
		EnvelopeFrom: m.mailFrom, EnvelopeTo: []string{m.rcpt}, HeaderFrom: m.from,
		SPF:       policy.SPFResult{Domain: domainOf(m.mailFrom), Scope: "mfrom", Result: m.spf},
		DKIM:      m.dkim,
		Discovery: &policy.Discovery{Record: rec, PolicyDomain: m.from, OrgDomain: m.from, Method: "treewalk"},
		Decision:  m.decision,
	}
}

// received is one report message as the sink got it.
type received struct {
	envelopeTo []string
	header     mail.Header
	raw        []byte
	attachName string
	attachType string
	xml        []byte
	report     *AggregateReport
}

// receivedReports parses every message the sink accepted.
func receivedReports(t *testing.T, sink *smtpsink.Sink) []received {
	t.Helper()
	var out []received
	for _, m := range sink.Messages() {
		out = append(out, parseReportMail(t, m.To, m.Data))
	}
	return out
}

func parseReportMail(t *testing.T, to []string, data []byte) received {
	t.Helper()
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("report is not a mail message: %v", err)
	}
	r := received{envelopeTo: to, header: msg.Header, raw: data}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable, not base64
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct == "text/plain" {
			continue
		}
		r.attachType, r.attachName = ct, p.FileName()
		content, err := dmarcreport.DecodeTransfer(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			t.Fatal(err)
		}
		if r.xml, err = dmarcreport.Gunzip(content); err != nil {
			t.Fatalf("attachment: %v", err)
		}
	}
	if r.xml == nil {
		t.Fatal("no attachment")
	}
	reps, err := dmarcreport.ReadReport(data)
	if err != nil || len(reps) != 1 {
		t.Fatalf("dmarcreport.ReadReport: %d reports, %v", len(reps), err)
	}
	r.report = reps[0]
	return r
}

// validateXSD checks doc against the RFC 9990 schema with xmllint.
func validateXSD(t *testing.T, doc []byte) error {
	t.Helper()
	needs.Command(t, "xmllint", "libxml2-utils")
	f := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", xsdPath, f).CombinedOutput()
	if err != nil {
		return &xsdError{out: strings.TrimSpace(string(out))}
	}
	return nil
}

type xsdError struct{ out string }

func (e *xsdError) Error() string { return "XSD validation failed: " + e.out }

// rowsOf indexes a report's records by source IP and dispositions.
func countsBySource(r *AggregateReport) map[string]int64 {
	out := map[string]int64{}
	for _, rec := range r.Records {
		out[rec.Row.SourceIP] += rec.Row.Count
	}
	return out
}

func byDomain(t *testing.T, rs []received) map[string]received {
	t.Helper()
	out := map[string]received{}
	for _, r := range rs {
		d := r.report.Policy.Domain
		if _, dup := out[d]; dup {
			t.Errorf("two reports for %s", d)
		}
		out[d] = r
	}
	return out
}
