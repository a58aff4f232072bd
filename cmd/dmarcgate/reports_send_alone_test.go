package main

import (
	"strings"
	"testing"
)

// TestReportsSendWithoutServe: with no serve running, `reports send`
// closes the period and has sent the aggregate report when it exits.
func TestReportsSendWithoutServe(t *testing.T) {
	h := newHarness(t, nil)
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		if err := sendFrom(t, h.addr, ip, "a@good.example", []string{"bob@example.org"}, message("a@good.example", "pass")); err != nil {
			t.Fatal(err)
		}
	}
	h.stop()
	out, err := runCmd(t, h, "reports", "send")
	if err != nil {
		t.Fatalf("reports send without serve: %v\n%s", err, out)
	}
	reps := aggregateReports(t, h.out)["good.example"]
	if len(reps) != 1 {
		t.Fatalf("%d reports for good.example when reports send exited, want 1\n%s", len(reps), out)
	}
	if n := checkReportMessage(t, reps[0], "good.example").MessageCount(); n != 2 {
		t.Errorf("the report counts %d messages, want 2", n)
	}
	// The period is closed: the open one holds nothing yet.
	if out, err := runCmd(t, h, "reports", "preview"); err != nil || !strings.Contains(out, "nothing recorded in the open period") {
		t.Errorf("reports preview after send: %v\n%s", err, out)
	}
}
