package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmarcgate/dmarcreport"
)

// runCmdCode runs a one-shot command and returns stdout, stderr and the
// exit code, whatever it is.
func runCmdCode(t *testing.T, h *harness, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--config", h.configPath)
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// TestRecordCommandShowsProblems: every SPF record when there are several,
// an invalid tag value named (with the record in force or the record that
// was skipped), and an address taken for its domain.
func TestRecordCommandShowsProblems(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.Add(`_dmarc.typo.example. 300 IN TXT "v=DMARC1; p=rejectt; rua=mailto:agg@typo.example"`)
	h.dns.Add(`_dmarc.typo-norua.example. 300 IN TXT "v=DMARC1; p=rejectt"`)
	h.dns.Add(`twospf.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`)
	h.dns.Add(`twospf.example. 300 IN TXT "v=spf1 include:_spf.esp.example ~all"`)

	out, err := runCmd(t, h, "record", "typo.example")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "p=rejectt is invalid (none, quarantine or reject)", "acts as p=none")
	if !regexp.MustCompile(`(?m)^policy for typo.example: +none`).MatchString(out) {
		t.Errorf("the policy in force is not none:\n%s", out)
	}

	out, err = runCmd(t, h, "record", "typo-norua.example")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "no DMARC policy applies", "record at _dmarc.typo-norua.example:", "v=DMARC1; p=rejectt", "problem:", "p=rejectt is invalid")

	out, err = runCmd(t, h, "record", "twospf.example")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^spf record: +v=spf1 `).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d SPF records shown, want 2:\n%s", n, out)
	}
	mustContain(t, out, "ip4:192.0.2.0/24", "include:_spf.esp.example", "permerror: 2 SPF records")

	for _, arg := range []string{"alice@Good.Example", "<alice@good.example>", "Alice Example <alice@good.example.>"} {
		out, err = runCmd(t, h, "record", arg)
		if err != nil || !regexp.MustCompile(`(?m)^domain: +good\.example$`).MatchString(out) || strings.Contains(out, "problem:") {
			t.Errorf("record %q: %v\n%s", arg, err, out)
		}
	}
	if _, stderr, code := runCmdCode(t, h, "record", "alice@"); code != exitUsage || !strings.Contains(stderr, "neither a domain nor an address") {
		t.Errorf("record alice@: exit %d, %s", code, stderr)
	}
}

// TestCheckExitCodes: check exits 0 for deliver and 3, 4 and 5 for
// quarantine, reject and tempfail, with and without --json; the JSON
// carries the same code and uses snake_case keys at every level.
func TestCheckExitCodes(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.Add(`temp.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	h.dns.Fail("_dmarc.temp.example.", dns.RcodeServerFailure)
	cases := []struct {
		name, mailFrom, from, disposition string
		code                              int
	}{
		{"deliver", "alice@good.example", "alice@good.example", "deliver", exitOK},
		{"quarantine", "x@quar.example", "x@quar.example", "quarantine", exitCheckQuarantine},
		{"reject", "spoof@forwarder.example", "ceo@good.example", "reject", exitCheckReject},
		{"tempfail", "bob@temp.example", "bob@temp.example", "tempfail", exitCheckTempFail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "msg.eml")
			if err := os.WriteFile(file, []byte(message(c.from, c.name)), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"check", "--ip", "127.0.0.1", "--helo", "client.test", "--mail-from", c.mailFrom, file}
			out, stderr, code := runCmdCode(t, h, args...)
			if code != c.code || !strings.Contains(out, "disposition: "+c.disposition) || stderr != "" {
				t.Errorf("exit %d, want %d; stderr %q\n%s", code, c.code, stderr, out)
			}
			out, _, code = runCmdCode(t, h, append(args, "--json")...)
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("--json: %v\n%s", err, out)
			}
			if code != c.code || v["disposition"] != c.disposition || v["exit_code"] != float64(c.code) {
				t.Errorf("--json: exit %d, %v / %v; want %d", code, v["disposition"], v["exit_code"], c.code)
			}
			checkSnakeCase(t, "", v)
		})
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkSnakeCase walks decoded JSON and fails on any key not in snake_case.
func checkSnakeCase(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if !snakeCase.MatchString(k) {
				t.Errorf("key %s%s is not snake_case", path, k)
			}
			checkSnakeCase(t, path+k+".", sub)
		}
	case []any:
		for _, sub := range x {
			checkSnakeCase(t, path, sub)
		}
	}
}

// TestReportsPreviewAll: without --domain, preview says when there is
// nothing, and otherwise prints one XML document per policy domain, each
// after a line naming it; with --domain, the bare document.
func TestReportsPreviewAll(t *testing.T) {
	h := newHarness(t, nil)
	out, err := runCmd(t, h, "reports", "preview")
	if err != nil || strings.TrimSpace(out) != "nothing recorded in the open period: no aggregate report would be sent" {
		t.Fatalf("preview of nothing: %v\n%q", err, out)
	}
	h.dns.SetRecords("_dmarc.quar.example.", `_dmarc.quar.example. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:agg@quar.example"`)
	for _, from := range []string{"alice@good.example", "x@quar.example"} {
		if err := h.send(from, []string{"bob@example.org"}, message(from, "for the report")); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runCmd(t, h, "reports", "preview")
	if err != nil {
		t.Fatal(err)
	}
	heads := regexp.MustCompile(`(?m)^==> report (\d) of 2: policy domain (\S+) <==$`).FindAllStringSubmatchIndex(out, -1)
	if len(heads) != 2 {
		t.Fatalf("%d document headings, want 2:\n%s", len(heads), out)
	}
	for i, want := range []string{"good.example", "quar.example"} {
		end := len(out)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		doc := out[heads[i][1]:end]
		rep, err := dmarcreport.ParseAggregate(strings.NewReader(doc))
		if err != nil || rep.Policy.Domain != want || out[heads[i][4]:heads[i][5]] != want || strings.Count(doc, "<?xml") != 1 {
			t.Errorf("document %d: %v, domain %q, want %s:\n%s", i+1, err, rep.Policy.Domain, want, doc)
		}
	}
	out, err = runCmd(t, h, "reports", "preview", "--domain", "quar.example")
	if err != nil || !strings.HasPrefix(out, "<?xml") || strings.Contains(out, "==>") {
		t.Errorf("preview --domain: %v\n%s", err, out)
	}
}
