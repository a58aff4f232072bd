package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/config"
	"dmarcgate/dmarcreport"
	"dmarcgate/smtpsink"
)

// failureReports returns the parsed failure reports the smarthost received.
func failureReports(t *testing.T, sink *smtpsink.Sink) []*dmarcreport.FailureReport {
	t.Helper()
	var out []*dmarcreport.FailureReport
	for _, m := range sink.Messages() {
		if !bytes.Contains(m.Data, []byte("report-type=feedback-report")) {
			continue
		}
		fr, err := dmarcreport.ParseFailureReport(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("our failure report does not parse: %v", err)
		}
		out = append(out, fr)
	}
	return out
}

// foZone publishes one p=none domain per fo= value, with SPF that fails for
// the domain itself and passes for its "pass." subdomain.
func foZone(h *harness) {
	for _, fo := range []string{"0", "1", "d", "s"} {
		d := "fo" + fo + ".example"
		h.dns.SetRecords(d+".", d+`. 300 IN TXT "v=spf1 -all"`, d+". 300 IN A 192.0.2.10")
		h.dns.SetRecords("pass."+d+".", "pass."+d+`. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
		h.dns.SetRecords("_dmarc."+d+".", "_dmarc."+d+`. 300 IN TXT "v=DMARC1; p=none; ruf=mailto:ruf@`+d+`; fo=`+fo+`"`)
	}
}

func TestFailureReportsFollowFO(t *testing.T) {
	h := newHarness(t, nil)
	foZone(h)
	signers := map[string]*signer{}
	for _, fo := range []string{"0", "1", "d", "s"} {
		signers[fo] = h.newRSASigner("fo"+fo+".example", "s")
	}
	// Each scenario comes from its own source IP: the per-source rate limit
	// (one report per domain per source IP per hour) stays out of the way.
	scenarios := []struct {
		name, src string
		send      func(fo string) error
		want      map[string]bool // fo value -> report expected
	}{
		{"SPF fails, no signature", "127.0.0.2", func(fo string) error {
			d := "fo" + fo + ".example"
			return sendFrom(t, h.addr, "127.0.0.2", "x@"+d, []string{"bob@example.org"}, message("x@"+d, "nothing aligned"))
		}, map[string]bool{"0": true, "1": true, "d": false, "s": true}},
		{"SPF fails, DKIM passes", "127.0.0.3", func(fo string) error {
			d := "fo" + fo + ".example"
			return sendFrom(t, h.addr, "127.0.0.3", "x@"+d, []string{"bob@example.org"}, signers[fo].sign(t, message("x@"+d, "dkim aligned")))
		}, map[string]bool{"0": false, "1": true, "d": false, "s": true}},
		{"SPF passes, DKIM fails", "127.0.0.4", func(fo string) error {
			d := "fo" + fo + ".example"
			signed := strings.Replace(signers[fo].sign(t, message("x@"+d, "body altered")), "Hello there.", "Hello thera.", 1)
			return sendFrom(t, h.addr, "127.0.0.4", "x@pass."+d, []string{"bob@example.org"}, signed)
		}, map[string]bool{"0": false, "1": true, "d": true, "s": false}},
	}
	want := 0
	for _, sc := range scenarios {
		for _, fo := range []string{"0", "1", "d", "s"} {
			if err := sc.send(fo); err != nil {
				t.Fatalf("%s fo=%s: %v", sc.name, fo, err)
			}
			if sc.want[fo] {
				want++
			}
		}
	}
	waitFor(t, 15*time.Second, fmt.Sprintf("%d failure reports", want), func() bool { return len(failureReports(t, h.out)) >= want })
	time.Sleep(300 * time.Millisecond)
	got := map[string]bool{}
	for _, fr := range failureReports(t, h.out) {
		key := fr.Get("Reported-Domain") + " " + fr.Get("Source-IP")
		if got[key] {
			t.Errorf("two reports for %s", key)
		}
		got[key] = true
		checkFailureReport(t, fr)
	}
	for _, sc := range scenarios {
		for fo, expect := range sc.want {
			if key := "fo" + fo + ".example " + sc.src; got[key] != expect {
				t.Errorf("%s, fo=%s: report sent = %v, want %v", sc.name, fo, got[key], expect)
			}
		}
	}
}

// checkFailureReport checks the RFC 6591 / RFC 9991 shape and redaction.
func checkFailureReport(t *testing.T, fr *dmarcreport.FailureReport) {
	t.Helper()
	if fr.ReportType != "feedback-report" || fr.Human == "" || fr.OriginalType != "text/rfc822-headers" || fr.OriginalHasBody {
		t.Errorf("parts: type %q human %d bytes original %q body %v", fr.ReportType, len(fr.Human), fr.OriginalType, fr.OriginalHasBody)
	}
	for _, f := range []string{"Feedback-Type", "Auth-Failure", "User-Agent", "Version", "Original-Mail-From", "Arrival-Date",
		"Source-IP", "Source-Port", "Reported-Domain", "Authentication-Results", "Identity-Alignment", "Delivery-Result"} {
		if !fr.Has(f) {
			t.Errorf("report lacks %s", f)
		}
	}
	if port, err := strconv.Atoi(fr.Get("Source-Port")); err != nil || port <= 0 || port > 65535 {
		t.Errorf("Source-Port %q is not the client's port", fr.Get("Source-Port"))
	}
	if fr.Get("Feedback-Type") != "auth-failure" {
		t.Errorf("Feedback-Type %q", fr.Get("Feedback-Type"))
	}
	if strings.Contains(fr.Get("Original-Mail-From"), "<x@") || strings.Contains(string(fr.OriginalHeader), "<x@") {
		t.Errorf("local part not redacted: %q", fr.Get("Original-Mail-From"))
	}
}

func TestFailureReportRateLimitAndAuthorization(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.SetRecords("burst.example.", `burst.example. 300 IN TXT "v=spf1 -all"`)
	h.dns.SetRecords("_dmarc.burst.example.", `_dmarc.burst.example. 300 IN TXT "v=DMARC1; p=none; ruf=mailto:ruf@burst.example; fo=1"`)
	h.dns.SetRecords("ext.example.", `ext.example. 300 IN TXT "v=spf1 -all"`)
	h.dns.SetRecords("_dmarc.ext.example.", `_dmarc.ext.example. 300 IN TXT "v=DMARC1; p=none; ruf=mailto:f@unauthorized.example,mailto:f@authorized.example; fo=1"`)
	h.dns.SetRecords("ext.example._report._dmarc.authorized.example.", `ext.example._report._dmarc.authorized.example. 300 IN TXT "v=DMARC1"`)
	for i := 0; i < 100; i++ {
		if err := h.send("x@burst.example", []string{"bob@example.org"}, message("x@burst.example", fmt.Sprint("burst ", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.send("x@ext.example", []string{"bob@example.org"}, message("x@ext.example", "external")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "two failure reports", func() bool { return len(failureReports(t, h.out)) >= 2 })
	time.Sleep(500 * time.Millisecond)
	perDomain := map[string]int{}
	var extRcpts []string
	for _, m := range h.out.Messages() {
		if !bytes.Contains(m.Data, []byte("report-type=feedback-report")) {
			continue
		}
		fr, _ := dmarcreport.ParseFailureReport(bytes.NewReader(m.Data))
		d := fr.Get("Reported-Domain")
		perDomain[d]++
		if d == "ext.example" {
			extRcpts = append(extRcpts, m.To...)
		}
	}
	if perDomain["burst.example"] != 1 {
		t.Errorf("a burst of 100 failing messages from one source gave %d reports, want 1", perDomain["burst.example"])
	}
	if strings.Join(extRcpts, ",") != "f@authorized.example" {
		t.Errorf("external ruf recipients = %v, want only the authorized one", extRcpts)
	}
}

func TestFailureReportIncludeBody(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.FailureReports.IncludeBody = true })
	foZone(h)
	msg := message("x@fo1.example", "with body")
	if err := h.send("x@fo1.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a failure report", func() bool { return len(failureReports(t, h.out)) == 1 })
	fr := failureReports(t, h.out)[0]
	if fr.OriginalType != "message/rfc822" || !fr.OriginalHasBody {
		t.Fatalf("include_body: original part %q, body %v", fr.OriginalType, fr.OriginalHasBody)
	}
	var raw []byte
	for _, m := range h.out.Messages() {
		raw = m.Data
	}
	if !bytes.Contains(raw, []byte("Message-ID:")) || !bytes.Contains(raw, []byte("\r\n\r\nHello there.\r\nA second line.\r\n")) {
		t.Errorf("the original's body is not in the report after its header:\n%s", raw)
	}
}

// A failure report whose destination could not be checked (DNS failed
// temporarily) stays pending; `reports send` without serve sends it once
// DNS answers.
func TestReportsSendSendsPendingFailureReports(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.SetRecords("late.example.", `late.example. 300 IN TXT "v=spf1 -all"`)
	h.dns.SetRecords("_dmarc.late.example.", `_dmarc.late.example. 300 IN TXT "v=DMARC1; p=none; ruf=mailto:f@reports.example; fo=1"`)
	const auth = "late.example._report._dmarc.reports.example."
	h.dns.SetRecords(auth, auth+` 300 IN TXT "v=DMARC1"`)
	h.dns.Fail(auth, dns.RcodeServerFailure)
	if err := h.send("x@late.example", []string{"bob@example.org"}, message("x@late.example", "reported later")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the report destination's check", func() bool { return h.dns.QueryCount(auth, dns.TypeTXT) > 0 })
	h.stop()
	if n := len(failureReports(t, h.out)); n != 0 {
		t.Fatalf("%d failure reports sent while the destination could not be checked", n)
	}
	h.dns.Restore(auth)
	if out, err := runCmd(t, h, "reports", "send"); err != nil {
		t.Fatalf("reports send: %v\n%s", err, out)
	}
	reports := failureReports(t, h.out)
	if len(reports) != 1 || reports[0].Get("Reported-Domain") != "late.example" {
		t.Fatalf("after reports send: %d failure reports, want the one for late.example", len(reports))
	}
}
