package reporting

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.etcd.io/bbolt"

	"dmarcgate/dmarcreport"
	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// TestReportsEndToEnd: messages for several domains are recorded, the
// period is closed, and the sink receives one valid RFC 9990 report per
// domain with the counts sent, aggregated by source and results.
func TestReportsEndToEnd(t *testing.T) {
	e := newEnv(t, nil, nil)
	failDKIM := []policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.Fail}, {Domain: "esp.example", Selector: "k2", Result: policy.Pass}}
	fail := policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionReject, Disposition: policy.ActionReject}
	for i := 0; i < 3; i++ {
		e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", dkim: []policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.Pass}}}))
	}
	for i := 0; i < 2; i++ {
		e.record(event(t, msg{ip: "198.51.100.7", from: "a.example", mailFrom: "x@spoof.example", spf: policy.Fail, dkim: failDKIM, decision: fail}))
	}
	e.record(event(t, msg{ip: "2001:db8::1", from: "b.example", record: "v=DMARC1; p=none; rua=mailto:agg@b.example,mailto:AGG@B.EXAMPLE,https://r.example/x"}))

	sum := e.send(true)
	if sum.Closed != 2 || sum.Generated != 2 || sum.Enqueued != 2 {
		t.Fatalf("summary %+v", sum)
	}
	got := byDomain(t, receivedReports(t, e.sink))
	if len(got) != 2 {
		t.Fatalf("%d reports, want 2", len(got))
	}
	a := got["a.example"]
	if n := a.report.MessageCount(); n != 5 {
		t.Errorf("a.example: %d messages, want 5", n)
	}
	if len(a.report.Records) != 2 {
		t.Fatalf("a.example: %d rows, want 2 (aggregated)", len(a.report.Records))
	}
	if c := countsBySource(a.report); c["192.0.2.1"] != 3 || c["198.51.100.7"] != 2 {
		t.Errorf("counts by source %v", c)
	}
	for _, rec := range a.report.Records {
		switch rec.Row.SourceIP {
		case "192.0.2.1":
			pe := rec.Row.PolicyEvaluated
			if pe.Disposition != "none" || pe.SPF != "pass" || rec.Identifiers.EnvelopeFrom != "a.example" {
				t.Errorf("passing row %+v %+v", pe, rec.Identifiers)
			}
		case "198.51.100.7":
			if len(rec.AuthResults.DKIM) != 2 || rec.AuthResults.DKIM[1].Selector != "k2" || rec.AuthResults.DKIM[0].Result != "fail" {
				t.Errorf("DKIM results %+v", rec.AuthResults.DKIM)
			}
			if rec.Row.PolicyEvaluated.Disposition != "reject" || rec.AuthResults.SPF[0].Result != "fail" || rec.AuthResults.SPF[0].Domain != "spoof.example" {
				t.Errorf("failing row %+v", rec)
			}
		}
		if rec.Identifiers.EnvelopeTo != "receiver.test" || rec.Identifiers.HeaderFrom != "a.example" {
			t.Errorf("identifiers %+v", rec.Identifiers)
		}
	}
	b := got["b.example"]
	if b.report.MessageCount() != 1 || b.report.Records[0].Row.SourceIP != "2001:db8::1" {
		t.Errorf("b.example report %+v", b.report.Records)
	}
	if len(b.envelopeTo) != 1 || b.envelopeTo[0] != "agg@b.example" {
		t.Errorf("b.example went to %v, want the merged agg@b.example", b.envelopeTo)
	}
	if !strings.Contains(b.report.Metadata.Error, "https://r.example/x") {
		t.Errorf("ignored https rua not named in <error>: %q", b.report.Metadata.Error)
	}
	for d, r := range got {
		checkReportMail(t, e, d, r)
	}
	again := e.send(true)
	if again.Enqueued != 0 || e.sink.Count() != 2 {
		t.Errorf("second send: %+v, sink has %d", again, e.sink.Count())
	}
}

var fileNameRE = regexp.MustCompile(`^receiver\.test!([a-z.]+)!(\d+)!(\d+)!([0-9a-f]+)\.xml\.gz$`)

// checkReportMail checks the RFC 9990 §2.5.1 form of one report message.
func checkReportMail(t *testing.T, e *env, domain string, r received) {
	t.Helper()
	id := r.report.Metadata.ReportID
	wantSubject := fmt.Sprintf("Report Domain: %s Submitter: receiver.test Report-ID: <%s>", domain, id)
	if s := r.header.Get("Subject"); s != wantSubject {
		t.Errorf("Subject %q, want %q", s, wantSubject)
	}
	if !strings.Contains(r.header.Get("From"), "<dmarc-reports@receiver.test>") {
		t.Errorf("From %q", r.header.Get("From"))
	}
	if r.header.Get("Message-ID") == "" || r.header.Get("Date") == "" {
		t.Error("no Message-ID or Date")
	}
	if _, err := r.header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	m := fileNameRE.FindStringSubmatch(r.attachName)
	if m == nil || m[1] != domain || m[2] != fmt.Sprint(r.report.Metadata.DateRange.Begin) || m[3] != fmt.Sprint(r.report.Metadata.DateRange.End) {
		t.Errorf("attachment name %q", r.attachName)
	}
	if r.attachType != "application/gzip" {
		t.Errorf("attachment type %q", r.attachType)
	}
	if r.report.Namespace != Namespace || r.report.Metadata.OrgName != "Receiver Org" || r.report.Metadata.Email != "dmarc-reports@receiver.test" {
		t.Errorf("metadata %+v ns %q", r.report.Metadata, r.report.Namespace)
	}
	if dr := r.report.Metadata.DateRange; dr.Begin != day0.Unix() || dr.End != e.clock.Now().Unix()-1 {
		t.Errorf("date range %+v", dr)
	}
	if err := validateXSD(t, r.xml); err != nil {
		t.Errorf("%s: %v\n%s", domain, err, r.xml)
	}
}

// TestValidatorOnSamples checks the validator the tests rely on.
func TestValidatorOnSamples(t *testing.T) {
	tests := []struct {
		file  string
		valid bool
	}{
		{"parsedmarc/rfc9990-sample.xml", true},
		{"cry-inc/webde.xml", true},
		{"cry-inc/gmxnet.xml", true},
		{"cry-inc/hardfail.xml", false},
		{"parsedmarc-invalid/invalid_utf_8.xml", false},
		{"parsedmarc-invalid/invalid_xml.xml", false},
		{"parsedmarc-invalid/report_with_upper_cased_pass.xml", false},
		{"cry-inc/outlook.xml", false}, // legacy: no namespace
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data := readSample(t, tc.file)
			err := validateXSD(t, data)
			if tc.valid != (err == nil) {
				t.Errorf("valid = %v, want %v (%v)", err == nil, tc.valid, err)
			}
		})
	}
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Skip(err)
	}
	return data
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// allStates returns every stored report state.
func (e *env) allStates() []*aggState {
	e.t.Helper()
	var out []*aggState
	err := e.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(reportsBucket).ForEach(func(k, v []byte) error {
			st, err := getState(tx, k)
			out = append(out, st)
			return err
		})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestRoundTrip: our XML parses back to the same records.
func TestRoundTrip(t *testing.T) {
	rows := []rowIdentity{
		rowFor(event(t, msg{ip: "192.0.2.9", from: "c.example", dkim: []policy.DKIMResult{{Domain: "c.example", Selector: "sel", Result: policy.Pass}}})),
		rowFor(event(t, msg{ip: "192.0.2.10", from: "c.example", spf: policy.SoftFail,
			decision: policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionReject, Disposition: policy.ActionNone,
				Reasons: []policy.Reason{{Type: policy.ReasonMailingList, Comment: "list <x>&y"}, {Type: policy.ReasonForwarded}}}})),
	}
	rep := &AggregateReport{
		Metadata: ReportMetadata{OrgName: "O & Co", Email: "r@o.example", ReportID: "id.1@mx", DateRange: DateRange{Begin: 100, End: 199}},
		Policy:   PolicyPublished{Domain: "c.example", P: "reject", Testing: "n", DiscoveryMethod: "treewalk"},
	}
	for i, r := range rows {
		rep.Records = append(rep.Records, r.record(int64(i+5)))
	}
	doc, err := rep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := validateXSD(t, doc); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	back, err := dmarcreport.ParseAggregate(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", back.Records) != fmt.Sprintf("%+v", rep.Records) {
		t.Errorf("records differ:\n got %+v\nwant %+v", back.Records, rep.Records)
	}
	if back.Metadata != rep.Metadata || back.Version != dmarcreport.ReportVersion {
		t.Errorf("metadata %+v version %q", back.Metadata, back.Version)
	}
	reasons := back.Records[1].Row.PolicyEvaluated.Reasons
	if len(reasons) != 2 || reasons[1].Type != "other" || reasons[1].Comment != "forwarded" {
		t.Errorf("reasons %+v", reasons)
	}
}

// TestRetryAfter4xxKeepsReportID: a refused delivery is retried by the
// queue with the same report, and Send does not enqueue it again.
func TestRetryAfter4xxKeepsReportID(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.sink.SetDataReply(func(string, []string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	})
	e.send(true)
	if e.sink.Count() != 0 {
		t.Fatal("delivered despite 451")
	}
	if sum := e.send(true); sum.Enqueued != 0 {
		t.Fatalf("report enqueued again: %+v", sum)
	}
	e.sink.SetDataReply(nil)
	e.clock.Add(2 * time.Minute)
	e.send(false)
	got := receivedReports(t, e.sink)
	if len(got) != 1 {
		t.Fatalf("%d reports after retry", len(got))
	}
	states := e.allStates()
	if len(states) != 1 || got[0].report.Metadata.ReportID != states[0].ID || got[0].report.MessageCount() != 1 {
		t.Errorf("report %+v, states %+v", got[0].report.Metadata, states)
	}
	e.clock.Add(time.Hour)
	e.send(false)
	if e.sink.Count() != 1 {
		t.Errorf("sink has %d reports, want 1", e.sink.Count())
	}
}

// TestCrashAfterAcceptResendsSameReport: the process dies after the sink
// accepted the report but before the queue recorded it. The restart sends
// the same report_id and bytes again (receivers drop duplicates by ID),
// and Send adds nothing.
func TestCrashAfterAcceptResendsSameReport(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	if _, err := e.rep.Send(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(t.TempDir(), "before-delivery.db")
	if err := e.db.View(func(tx *bbolt.Tx) error { return tx.CopyFile(snapshot, 0o600) }); err != nil {
		t.Fatal(err)
	}
	if err := e.q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.close()
	if err := copyFile(snapshot, filepath.Join(e.dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	e.open()
	if sum := e.send(true); sum.Enqueued != 0 || sum.Generated != 0 {
		t.Errorf("after restart: %+v", sum)
	}
	got := receivedReports(t, e.sink)
	if len(got) != 2 {
		t.Fatalf("%d messages, want the report and its resend", len(got))
	}
	if got[0].report.Metadata.ReportID != got[1].report.Metadata.ReportID || !bytes.Equal(got[0].xml, got[1].xml) {
		t.Errorf("resend differs: %q vs %q", got[0].report.Metadata.ReportID, got[1].report.Metadata.ReportID)
	}
	e.clock.Add(time.Hour)
	e.send(false)
	if e.sink.Count() != 2 {
		t.Errorf("sink has %d, want 2", e.sink.Count())
	}
}

// TestCrashAfterCloseForgetsNothing: the process dies after the period was
// closed but before the report was generated; the next run sends it.
func TestCrashAfterCloseForgetsNothing(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	if _, err := e.rep.closePeriods(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"})) // the new period
	sum := e.send(false)
	if sum.Enqueued != 1 {
		t.Fatalf("summary %+v", sum)
	}
	got := receivedReports(t, e.sink)
	if len(got) != 1 || got[0].report.MessageCount() != 2 {
		t.Fatalf("reports %d", len(got))
	}
	prev, err := dmarcreport.ParseAggregate(bytes.NewReader(e.previewOne("a.example")))
	if err != nil || prev.MessageCount() != 1 {
		t.Errorf("open period after restart: %v", err)
	}
}

// TestRestartMidPeriodLosesNothing: counts recorded before a restart are in
// the report with those recorded after.
func TestRestartMidPeriodLosesNothing(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.reopen()
	e.clock.Add(time.Hour)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.clock.Add(14 * time.Hour) // past the day's end
	sum := e.send(false)
	got := receivedReports(t, e.sink)
	if sum.Closed != 1 || len(got) != 1 {
		t.Fatalf("summary %+v, %d reports", sum, len(got))
	}
	r := got[0].report
	if r.MessageCount() != 3 || len(r.Records) != 1 {
		t.Errorf("%d messages in %d rows, want 3 in 1", r.MessageCount(), len(r.Records))
	}
	if dr := r.Metadata.DateRange; dr.Begin != day0.Unix() || dr.End != day0.Unix()+86399 {
		t.Errorf("date range %+v, want the UTC day", dr)
	}
}

// TestPeriodBoundary: Send without closeNow sends only periods that ended.
func TestPeriodBoundary(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	if sum := e.send(false); sum.Closed != 0 || e.sink.Count() != 0 {
		t.Fatalf("sent before the period ended: %+v", sum)
	}
	e.clock.Add(14 * time.Hour) // 00:00 next day
	e.record(event(t, msg{ip: "192.0.2.2", from: "a.example"}))
	e.record(event(t, msg{ip: "192.0.2.2", from: "a.example"}))
	e.send(false)
	got := receivedReports(t, e.sink)
	if len(got) != 1 || got[0].report.MessageCount() != 1 {
		t.Fatalf("%d reports", len(got))
	}
	doc := e.previewOne("")
	prev, err := dmarcreport.ParseAggregate(bytes.NewReader(doc))
	if err != nil || prev.MessageCount() != 2 || prev.Metadata.DateRange.Begin != day0.Add(24*time.Hour).Unix() {
		t.Fatalf("preview of the new day: %v %+v", err, prev)
	}
	if err := validateXSD(t, doc); err != nil {
		t.Error(err)
	}
}

// TestPreviewChangesNothing: previews of one domain, of all (one document
// each, in domain order) and of a domain without data; then Send finds
// every row still there.
func TestPreviewChangesNothing(t *testing.T) {
	e := newEnv(t, nil, nil)
	if all, err := e.rep.Previews(""); err != nil || len(all) != 0 {
		t.Fatalf("preview of nothing: %v %d", err, len(all))
	}
	e.record(event(t, msg{ip: "192.0.2.1", from: "b.example"}))
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	one := e.previewOne("A.Example")
	if strings.Count(string(one), "<feedback") != 1 || !strings.Contains(string(one), "<domain>a.example</domain>") {
		t.Errorf("preview for one domain:\n%s", one)
	}
	all, err := e.rep.Previews("")
	if err != nil || len(all) != 2 || all[0].Domain != "a.example" || all[1].Domain != "b.example" {
		t.Fatalf("preview of all: %v %d", err, len(all))
	}
	for _, p := range all {
		rep, err := dmarcreport.ParseAggregate(bytes.NewReader(p.XML))
		if err != nil || rep.Policy.Domain != p.Domain || strings.Count(string(p.XML), "<feedback") != 1 {
			t.Errorf("preview of %s: %v\n%s", p.Domain, err, p.XML)
		}
	}
	if _, err := e.rep.Previews("none.example"); err == nil {
		t.Error("no error for a domain without data")
	}
	sum := e.send(true)
	if sum.Enqueued != 2 || len(receivedReports(t, e.sink)) != 2 {
		t.Errorf("after preview: %+v", sum)
	}
}

// TestExternalDestinations: an external rua address gets reports only when
// it publishes the authorization record (RFC 9990 §3).
func TestExternalDestinations(t *testing.T) {
	zone := resolvertest.Zone{"vendor.example.": {`a.example._report._dmarc.vendor.example. 300 IN TXT "v=DMARC1;"`}}
	e := newEnv(t, zone, nil)
	rec := "v=DMARC1; p=reject; rua=mailto:own@a.example,mailto:rua@vendor.example,mailto:x@unauth.example,mailto:y@sub.a.example"
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: rec}))
	sum := e.send(true)
	if sum.Enqueued != 1 || sum.Recipients != 3 || sum.Skipped != 1 {
		t.Errorf("summary %+v", sum)
	}
	got := receivedReports(t, e.sink)
	var rcpts []string
	for _, r := range got {
		rcpts = append(rcpts, r.envelopeTo...)
	}
	joined := strings.Join(rcpts, " ")
	for _, want := range []string{"own@a.example", "rua@vendor.example", "y@sub.a.example"} {
		if !strings.Contains(joined, want) {
			t.Errorf("%s got nothing (recipients %v)", want, rcpts)
		}
	}
	if strings.Contains(joined, "unauth.example") {
		t.Errorf("unauthorized destination got the report: %v", rcpts)
	}
	if len(got) != 3 { // one transaction per destination domain
		t.Errorf("%d deliveries", len(got))
	}
	for _, r := range got {
		if r.report.Metadata.ReportID != got[0].report.Metadata.ReportID {
			t.Error("destinations got different report IDs")
		}
	}
}

// TestTempErrorDestinationRetried: a destination whose check fails
// temporarily gets nothing unverified, and the same report once verified.
func TestTempErrorDestinationRetried(t *testing.T) {
	zone := resolvertest.Zone{"vendor.example.": {`a.example._report._dmarc.vendor.example. 300 IN TXT "v=DMARC1"`}}
	e := newEnv(t, zone, nil)
	e.dns.Fail("a.example._report._dmarc.vendor.example.", 2) // SERVFAIL
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: "v=DMARC1; p=none; rua=mailto:own@a.example,mailto:rua@vendor.example"}))
	sum := e.send(true)
	if sum.Recipients != 1 || sum.Deferred != 1 {
		t.Fatalf("summary %+v", sum)
	}
	e.dns.Restore("a.example._report._dmarc.vendor.example.")
	if sum := e.send(false); sum.Enqueued != 0 {
		t.Errorf("retried before the retry time: %+v", sum)
	}
	e.clock.Add(retryCheck + time.Second)
	if sum := e.send(false); sum.Recipients != 1 || sum.Deferred != 0 {
		t.Errorf("retry: %+v", sum)
	}
	got := receivedReports(t, e.sink)
	if len(got) != 2 || got[0].report.Metadata.ReportID != got[1].report.Metadata.ReportID || !bytes.Equal(got[0].xml, got[1].xml) {
		t.Fatalf("%d reports, or different ones", len(got))
	}
	if got[1].envelopeTo[0] != "rua@vendor.example" {
		t.Errorf("retry went to %v", got[1].envelopeTo)
	}
}

// TestUnverifiedDestinationDropped: a check that keeps failing ends the
// report after DropAfter, unsent there.
func TestUnverifiedDestinationDropped(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.dns.Fail("a.example._report._dmarc.vendor.example.", 2)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: "v=DMARC1; p=none; rua=mailto:rua@vendor.example"}))
	if sum := e.send(true); sum.Deferred != 1 {
		t.Fatalf("summary %+v", sum)
	}
	e.clock.Add(DefaultDropAfter + time.Minute)
	if sum := e.send(false); sum.Dropped != 1 {
		t.Errorf("summary %+v", sum)
	}
	states, err := e.rep.activeStates()
	if err != nil || len(states) != 0 || e.sink.Count() != 0 {
		t.Errorf("still active: %v %v, sink %d", states, err, e.sink.Count())
	}
}

// TestHardBounceSuppresses: a 5xx puts the address on the suppression list.
func TestHardBounceSuppresses(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sink.SetReply(func(from string, to []string) *smtp.SMTPError {
		if to[0] == "gone@a.example" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	rec := "v=DMARC1; p=none; rua=mailto:gone@a.example,mailto:ok@a.example"
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: rec}))
	e.send(true)
	if e.sink.Count() != 1 {
		t.Fatalf("sink has %d", e.sink.Count())
	}
	e.clock.Add(time.Minute)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: rec}))
	sum := e.send(true)
	if sum.Recipients != 1 || sum.Skipped != 1 {
		t.Errorf("second report: %+v", sum)
	}
	e.clock.Add(DefaultSuppressFor)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: rec}))
	if sum := e.send(true); sum.Recipients != 2 {
		t.Errorf("suppression did not expire: %+v", sum)
	}
}

// TestCaps: per destination per day, and per period.
func TestCaps(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxPerDestinationPerDay = 1; c.MaxPerPeriod = 2 })
	for _, d := range []string{"a.example", "b.example", "c.example"} {
		e.record(event(t, msg{ip: "192.0.2.1", from: d, record: "v=DMARC1; p=none; rua=mailto:rua@shared.a.example"}))
	}
	// Authorize shared.a.example for the other domains.
	e.dns.Add(`b.example._report._dmarc.shared.a.example. 300 IN TXT "v=DMARC1"`)
	e.dns.Add(`c.example._report._dmarc.shared.a.example. 300 IN TXT "v=DMARC1"`)
	sum := e.send(true)
	// The destination cap stops b and c, so they spend none of the period's
	// budget: all three are generated, one is sent.
	if sum.Closed != 3 || sum.Generated != 3 {
		t.Errorf("period cap: %+v", sum)
	}
	if sum.Recipients != 1 {
		t.Errorf("destination cap: %d recipients, want 1 (%+v)", sum.Recipients, sum)
	}
	if e.sink.Count() != 1 {
		t.Errorf("sink has %d", e.sink.Count())
	}
}

// TestNoReportsAboutReports and the other cases Record skips.
func TestRecordSkips(t *testing.T) {
	e := newEnv(t, nil, nil)
	toUs := event(t, msg{ip: "192.0.2.1", from: "a.example", rcpt: "DMARC-Reports@receiver.test"})
	noPolicy := event(t, msg{ip: "192.0.2.1", from: "a.example"})
	noPolicy.Discovery = nil
	noRUA := event(t, msg{ip: "192.0.2.1", from: "a.example", record: "v=DMARC1; p=reject"})
	httpsOnly := event(t, msg{ip: "192.0.2.1", from: "a.example", record: "v=DMARC1; p=reject; rua=https://x.example/r"})
	for name, ev := range map[string]*Event{"to us": toUs, "no policy": noPolicy, "no rua": noRUA, "https only": httpsOnly, "nil": nil} {
		if e.rep.Record(ev) != nil {
			t.Errorf("%s: recorded", name)
		}
	}
	if sum := e.send(true); sum.Closed != 0 {
		t.Errorf("something was recorded: %+v", sum)
	}
}

// TestConcurrentRecordAndSend: rows recorded while periods close early are
// each counted in exactly one report.
func TestConcurrentRecordAndSend(t *testing.T) {
	e := newEnv(t, nil, nil)
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				fn := e.rep.Record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
				if err := e.db.Commit(context.Background(), fn); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		e.clock.Add(time.Second)
		if _, err := e.rep.Send(context.Background(), true); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	e.clock.Add(time.Second)
	e.send(true)
	var total int64
	for _, r := range receivedReports(t, e.sink) {
		total += r.report.MessageCount()
	}
	if total != writers*each {
		t.Errorf("reports count %d messages, want %d", total, writers*each)
	}
}
