package main

import (
	"strings"
	"testing"
	"time"

	"dmarcgate/config"
)

// TestPassDispositionPassThroughTheGateway: reporting.pass_disposition =
// "pass" reaches the reports serve sends and the one preview prints:
// mail that passed DMARC shows RFC 9990's pass, a rejected spoof reject.
// (The default, none, is checked by TestAggregateReportsThroughTheGateway.)
func TestPassDispositionPassThroughTheGateway(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Reporting.PassDisposition = "pass" })
	if err := sendFrom(t, h.addr, "127.0.0.2", "a@good.example", []string{"bob@example.org"}, message("a@good.example", "pass")); err != nil {
		t.Fatal(err)
	}
	err := sendFrom(t, h.addr, "127.0.0.5", "spoof@forwarder.example", []string{"bob@example.org"}, message("ceo@good.example", "spoof"))
	if smtpCode(err) != "550 5.7.26" {
		t.Fatalf("spoof: %v", err)
	}
	preview, err := runCmd(t, h, "reports", "preview", "--domain", "good.example")
	if err != nil || !strings.Contains(preview, "<disposition>pass</disposition>") || strings.Contains(preview, "<disposition>none</disposition>") {
		t.Fatalf("reports preview: %v\n%s", err, preview)
	}
	if out, err := runCmd(t, h, "reports", "send"); err != nil {
		t.Fatalf("reports send: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "the report", func() bool { return len(aggregateReports(t, h.out)["good.example"]) == 1 })
	rep := checkReportMessage(t, aggregateReports(t, h.out)["good.example"][0], "good.example")
	got := map[string]int64{}
	for _, r := range rep.Records {
		got[r.Row.PolicyEvaluated.Disposition] += r.Row.Count
	}
	if len(got) != 2 || got["pass"] != 1 || got["reject"] != 1 {
		t.Errorf("messages by disposition %v, want pass 1 and reject 1", got)
	}
}
