package main

import (
	"strings"
	"testing"
)

// TestCheckChangesNoState: `dmarcgate check` prints our
// Authentication-Results and the disposition, reading the message from
// stdin, and records nothing: no report row, no queued or held message.
func TestCheckChangesNoState(t *testing.T) {
	h := newHarness(t, nil)
	cases := map[string]struct{ mailFrom, from, disposition string }{
		"pass":       {"alice@good.example", "alice@good.example", "deliver"},
		"quarantine": {"x@quar.example", "x@quar.example", "quarantine"},
		"reject":     {"spoof@forwarder.example", "ceo@good.example", "reject"},
	}
	for name, c := range cases {
		args := []string{"check", "--ip", "127.0.0.2", "--helo", "client.test", "--mail-from", c.mailFrom, "--config", h.configPath}
		var out, errb strings.Builder
		code := run(t.Context(), args, strings.NewReader(message(c.from, name)), &out, &errb)
		if errb.Len() != 0 || !strings.Contains(out.String(), "Authentication-Results: mx.test.example;") ||
			!strings.Contains(out.String(), "disposition: "+c.disposition) {
			t.Errorf("%s: exit %d, stderr %q\n%s", name, code, errb.String(), out.String())
		}
	}
	if out, err := runCmd(t, h, "reports", "preview"); err != nil || !strings.Contains(out, "nothing recorded in the open period") {
		t.Errorf("reports preview after check: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"queue", "list"}, {"quarantine", "list"}} {
		out, err := runCmd(t, h, args...)
		if err != nil || !strings.Contains(out, "0 message(s)") {
			t.Errorf("%v after check: %v\n%s", args, err, out)
		}
	}
	if n := h.sink.Count(); n != 0 {
		t.Errorf("%d messages relayed by check", n)
	}
}
