package main

import (
	"strings"
	"testing"
	"time"

	"dmarcgate/config"
)

// TestReportingOff: with reporting.enabled and failure_reports.enabled
// false, mail is judged as before but no report of either kind is
// queued or sent, not even by `reports send`.
func TestReportingOff(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Reporting.Enabled, c.FailureReports.Enabled = false, false })
	if err := sendFrom(t, h.addr, "127.0.0.2", "a@good.example", []string{"bob@example.org"}, message("a@good.example", "pass")); err != nil {
		t.Fatal(err)
	}
	// good.example asks for failure reports (ruf=, fo=1).
	err := sendFrom(t, h.addr, "127.0.0.5", "spoof@forwarder.example", []string{"bob@example.org"}, message("ceo@good.example", "spoof"))
	if smtpCode(err) != "550 5.7.26" {
		t.Fatalf("spoof: %v", err)
	}
	_, stderr, code := runCmdCode(t, h, "reports", "send")
	if code != exitFailure || !strings.Contains(stderr, "aggregate reporting is disabled (reporting.enabled = false)") {
		t.Errorf("reports send: exit %d, %s", code, stderr)
	}
	if out, err := runCmd(t, h, "reports", "preview"); err != nil || !strings.Contains(out, "nothing recorded in the open period") {
		t.Errorf("reports preview: %v\n%s", err, out)
	}
	if _, err := h.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	q, err := queueList(t, h)
	if err != nil || !strings.Contains(q, "0 message(s)") {
		t.Errorf("queue list: %v\n%s", err, q)
	}
	if n := len(h.out.Messages()); n != 0 {
		t.Errorf("%d report messages sent with reporting off", n)
	}
}
