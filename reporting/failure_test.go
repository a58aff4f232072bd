package reporting

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.etcd.io/bbolt"

	"dmarcgate/dmarcreport"
	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

const ourReportAddress = "dmarc-reports@ours.example"

// failureEnv is the aggregate tests' env (bbolt, the durable queue, an
// in-process DNS server, an SMTP sink as the reports' smarthost) with a
// FailureReporter on top.
type failureEnv struct {
	*env
	fr *FailureReporter
}

var failureZone = resolvertest.Zone{"example.": {
	`a.example. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"`,
	`a.example._report._dmarc.reports.example. 300 IN TXT "v=DMARC1"`,
}}

func newFailureEnv(t *testing.T, change func(*FailureConfig)) *failureEnv {
	t.Helper()
	e := &failureEnv{env: newEnv(t, failureZone, func(c *Config) { c.Email = ourReportAddress })}
	e.fr = e.newReporter(change)
	return e
}

func (e *failureEnv) newReporter(change func(*FailureConfig)) *FailureReporter {
	e.t.Helper()
	cfg := FailureConfig{
		Enabled: true, Redact: true, Email: ourReportAddress, OrgName: "Ours",
		Hostname: "mx.ours.example", Now: e.clock.Now,
	}
	if change != nil {
		change(&cfg)
	}
	fr, err := NewFailureReporter(e.db, e.q, e.res, e.rep, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return fr
}

// failingEvent is a message from ip claiming From: domain, evaluated
// against record with decision d.
func failingEvent(domain, ip, record string, d policy.Decision, spf policy.SPFResult, dkim []policy.DKIMResult) *Event {
	rec, err := policy.ParseRecord(record)
	if err != nil {
		panic(err)
	}
	return &Event{
		Time: time.Date(2026, 5, 1, 9, 59, 0, 0, time.UTC), SourceIP: net.ParseIP(ip), HELO: "mail.sender.test",
		EnvelopeFrom: "bounce-user@" + domain, EnvelopeTo: []string{"alice@ours.example"},
		HeaderFrom: domain, SPF: spf, DKIM: dkim, Decision: d,
		Discovery: &policy.Discovery{Record: rec, PolicyDomain: domain, OrgDomain: domain, Method: "treewalk"},
		Header: []byte("From: User <user@" + domain + ">\r\nTo: alice@ours.example\r\n" +
			"Message-ID: <m1@" + domain + ">\r\nSubject: invoice\r\n"),
		AuthResults: "Authentication-Results: mx.ours.example; spf=fail smtp.mailfrom=" + domain +
			";\r\n\tdmarc=fail (p=reject dis=reject) header.from=" + domain + "\r\n",
	}
}

// arrive runs the Record hook in a durable commit, as smtpd does at the end
// of DATA; it reports whether a change was due.
func (e *failureEnv) arrive(ev *Event) bool {
	fn := e.fr.Record(ev)
	if fn == nil {
		return false
	}
	if err := e.db.Commit(context.Background(), fn); err != nil {
		e.t.Fatalf("commit: %v", err)
	}
	return true
}

func (e *failureEnv) pending() int {
	n := 0
	e.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(failurePendingBucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// sendFailures runs SendPending and delivers what it queued.
func (e *failureEnv) sendFailures() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.fr.SendPending(ctx); err != nil {
		e.t.Fatalf("SendPending: %v", err)
	}
	if err := e.q.RunOnce(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// reports waits for n messages at the sink and parses them.
func (e *failureEnv) reports(n int) []*dmarcreport.FailureReport {
	e.t.Helper()
	msgs, err := e.sink.Wait(n, 10*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*dmarcreport.FailureReport
	for _, m := range msgs {
		rep, err := dmarcreport.ParseFailureReport(bytes.NewReader(m.Data))
		if err != nil {
			e.t.Fatalf("report does not parse: %v\n%s", err, m.Data)
		}
		out = append(out, rep)
	}
	return out
}

func counterValue(outcome string) float64 {
	m := &dto.Metric{}
	failureReportsTotal.WithLabelValues(outcome).Write(m)
	return m.GetCounter().GetValue()
}

const rufRecord = "v=DMARC1; p=reject; ruf=mailto:ruf@%s"

// TestFailureFOThroughQueue: fo=0, 1, d and s produce reports exactly in
// the cases RFC 9989 §4.7 names, all the way to the report address.
func TestFailureFOThroughQueue(t *testing.T) {
	e := newFailureEnv(t, nil)
	cases := []struct {
		fo   string
		d    policy.Decision
		spf  policy.SPFResult
		dkim []policy.DKIMResult
		want bool
		kind string
	}{
		{"0", bothFail, spfFail, dkimBad, true, "dmarc"},
		{"0", spfOnly, spfPass, dkimBad, false, ""},
		{"0", bothPass, spfPass, dkimGood, false, ""},
		{"1", bothFail, spfFail, nil, true, "dmarc"},
		{"1", spfOnly, spfPass, nil, true, "signature"}, // DMARC passed: not "dmarc"
		{"1", dkimOnly, spfSoft, dkimGood, true, "spf"},
		{"1", bothPass, spfPass, dkimGood, false, ""},
		{"d", spfOnly, spfPass, dkimBad, true, "signature"},
		{"d", bothFail, spfFail, nil, false, ""},
		{"s", dkimOnly, spfFail, dkimGood, true, "spf"},
		{"s", bothFail, spfSoft, dkimBad, false, ""},
	}
	want := map[string]string{}
	for i, c := range cases {
		domain := fmt.Sprintf("d%d.example", i)
		ev := failingEvent(domain, "192.0.2.1", fmt.Sprintf(rufRecord+"; fo=%s", domain, c.fo), c.d, c.spf, c.dkim)
		if got := e.arrive(ev); got != c.want {
			t.Errorf("fo=%s case %d: report due = %v, want %v", c.fo, i, got, c.want)
		}
		if c.want {
			want[domain] = c.kind
		}
	}
	if e.pending() != len(want) {
		t.Fatalf("%d pending reports, want %d", e.pending(), len(want))
	}
	e.sendFailures()
	got := map[string]string{}
	for _, rep := range e.reports(len(want)) {
		got[rep.Get("Reported-Domain")] = rep.Get("Auth-Failure")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reports %v, want %v", got, want)
	}
	if e.pending() != 0 {
		t.Errorf("%d reports still pending after sending", e.pending())
	}
}

// TestFailureReportOnTheWire checks one report as the domain owner gets
// it: envelope, the three parts, the required fields, redaction.
func TestFailureReportOnTheWire(t *testing.T) {
	e := newFailureEnv(t, nil)
	ev := failingEvent("a.example", "192.0.2.7", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail,
		[]policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.Fail}})
	ev.QueueID = "q123"
	queuedBefore := counterValue("queued")
	e.arrive(ev)
	e.sendFailures()
	msgs, err := e.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != ourReportAddress || len(m.To) != 1 || m.To[0] != "ruf@a.example" {
		t.Errorf("envelope %s -> %v", m.From, m.To)
	}
	rep, err := dmarcreport.ParseFailureReport(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReportType != "feedback-report" || rep.Human == "" || rep.OriginalType != "text/rfc822-headers" {
		t.Errorf("parts: report-type %q, human %d bytes, original %q", rep.ReportType, len(rep.Human), rep.OriginalType)
	}
	for name, want := range map[string]string{
		"Feedback-Type": "auth-failure", "Version": "1", "Auth-Failure": "dmarc", "Source-IP": "192.0.2.7",
		"Reported-Domain": "a.example", "Identity-Alignment": "dkim,spf", "Delivery-Result": "reject",
		"DKIM-Domain": "a.example", "DKIM-Selector": "s1", "Original-Envelope-Id": "q123",
		"Arrival-Date": "Fri, 01 May 2026 09:59:00 +0000", "SPF-DNS": `txt : a.example : "v=spf1 ip4:198.51.100.0/24 -all"`,
	} {
		if got := rep.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"User-Agent", "Original-Mail-From", "Authentication-Results"} {
		if rep.Get(name) == "" {
			t.Errorf("%s missing", name)
		}
	}
	for _, local := range []string{"alice@", "user@", "bounce-user@"} {
		if bytes.Contains(m.Data, []byte(local)) {
			t.Errorf("report shows the local part %q", local)
		}
	}
	if !bytes.Contains(rep.OriginalHeader, []byte("Subject: invoice")) {
		t.Errorf("original header lost: %q", rep.OriginalHeader)
	}
	if d := counterValue("queued") - queuedBefore; d != 1 {
		t.Errorf("queued counter moved by %v, want 1", d)
	}
}

// TestFailureQueuedOnce: concurrent senders and a restart (a second
// reporter on the same database) queue each report exactly once.
func TestFailureQueuedOnce(t *testing.T) {
	e := newFailureEnv(t, nil)
	queued := counterValue("queued")
	for i := 0; i < 5; i++ {
		e.arrive(failingEvent(fmt.Sprintf("d%d.example", i), "192.0.2.1", fmt.Sprintf(rufRecord, fmt.Sprintf("d%d.example", i)), bothFail, spfFail, nil))
	}
	other := e.newReporter(nil)
	var wg sync.WaitGroup
	for _, fr := range []*FailureReporter{e.fr, e.fr, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fr.SendPending(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := counterValue("queued") - queued; d != 5 {
		t.Fatalf("queued moved by %v, want 5", d)
	}
	if err := e.q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	reps := e.reports(5)
	var domains []string
	for _, r := range reps {
		domains = append(domains, r.Get("Reported-Domain"))
	}
	sort.Strings(domains)
	if strings.Join(domains, ",") != "d0.example,d1.example,d2.example,d3.example,d4.example" {
		t.Errorf("reported domains %v", domains)
	}
}

// TestFailureRunWakesOnRecord: Run sends a report as soon as it is stored.
func TestFailureRunWakesOnRecord(t *testing.T) {
	e := newFailureEnv(t, func(c *FailureConfig) { c.SendInterval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	e.q.Start(ctx)
	done := make(chan struct{})
	go func() { e.fr.Run(ctx); close(done) }()
	defer func() {
		cancel()
		<-done
		stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelStop()
		e.q.Stop(stop)
	}()
	e.arrive(failingEvent("a.example", "192.0.2.1", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, nil))
	if reps := e.reports(1); reps[0].Get("Reported-Domain") != "a.example" {
		t.Errorf("report for %q", reps[0].Get("Reported-Domain"))
	}
}

func TestNewFailureReporterErrors(t *testing.T) {
	e := newFailureEnv(t, nil)
	if _, err := NewFailureReporter(e.db, e.q, e.res, e.rep, FailureConfig{Enabled: true}); err == nil {
		t.Error("enabled without a reporting address accepted")
	}
	if _, err := NewFailureReporter(nil, e.q, e.res, e.rep, FailureConfig{}); err == nil {
		t.Error("nil database accepted")
	}
	if _, err := NewFailureReporter(e.db, e.q, e.res, e.rep, FailureConfig{PerSourceInterval: -time.Second}); err == nil {
		t.Error("negative interval accepted")
	}
}

// TestFailureIncludeBody: with include_body the original goes whole
// (message/rfc822), redacted; the body is asked for only when a report is
// due and include_body is on.
func TestFailureIncludeBody(t *testing.T) {
	body := func(calls *int) func() []byte {
		return func() []byte { *calls++; return []byte("Dear alice@ours.example,\r\npay now.\r\n") }
	}
	e := newFailureEnv(t, func(c *FailureConfig) { c.IncludeBody = true })
	var calls int
	passing := failingEvent("b.example", "192.0.2.1", fmt.Sprintf(rufRecord, "b.example"), bothPass, spfPass, dkimGood)
	if fn := e.fr.RecordWithBody(passing, body(&calls)); fn != nil || calls != 0 {
		t.Fatalf("passing message: change %v, body asked %d times", fn != nil, calls)
	}
	ev := failingEvent("a.example", "192.0.2.1", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, nil)
	if err := e.db.Commit(context.Background(), e.fr.RecordWithBody(ev, body(&calls))); err != nil {
		t.Fatal(err)
	}
	e.sendFailures()
	rep := e.reports(1)[0]
	if rep.OriginalType != "message/rfc822" || !rep.OriginalHasBody {
		t.Fatalf("original part %q, body %v", rep.OriginalType, rep.OriginalHasBody)
	}
	raw := e.sink.Messages()[0].Data
	if !bytes.Contains(raw, []byte("pay now.")) || bytes.Contains(raw, []byte("alice@")) {
		t.Errorf("body missing or not redacted:\n%s", raw)
	}

	off := newFailureEnv(t, nil)
	calls = 0
	if err := off.db.Commit(context.Background(), off.fr.RecordWithBody(ev, body(&calls))); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("body asked for with include_body off")
	}
}

// A burst from one source copies the body once: later messages are known
// to be rate-limited before their body is read.
func TestFailureIncludeBodyNotCopiedWhenRateLimited(t *testing.T) {
	e := newFailureEnv(t, func(c *FailureConfig) { c.IncludeBody = true })
	calls := 0
	body := func() []byte { calls++; return []byte("body\r\n") }
	for i := 0; i < 10; i++ {
		ev := failingEvent("a.example", "192.0.2.1", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, nil)
		if fn := e.fr.RecordWithBody(ev, body); fn != nil {
			if err := e.db.Commit(context.Background(), fn); err != nil {
				t.Fatal(err)
			}
		}
	}
	if calls != 1 {
		t.Errorf("body copied %d times for a burst of 10 from one source, want 1", calls)
	}
}
