package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"dmarcgate/config"
	"dmarcgate/inbound"
)

const reportAddr = "dmarc-reports@example.org"

func inboundHarness(t *testing.T, deliver bool) *harness {
	h := newHarness(t, func(c *config.Config) {
		c.InboundReports.Addresses = []string{reportAddr}
		c.InboundReports.Domains = []string{"example.org"}
		c.InboundReports.Deliver = deliver
	})
	h.dns.SetRecords("_dmarc.example.org.", `_dmarc.example.org. 300 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org"`)
	return h
}

// TestInboundReportsEndToEnd: report mail from three reporters (gzip, zip,
// bare XML; RFC 9990 and RFC 7489), a failure report, a broken report and
// a report sent twice go through serve over real sockets; all are
// delivered, and domain status shows exact volumes per source and
// reporter, the repeat counted once.
func TestInboundReportsEndToEnd(t *testing.T) {
	h := inboundHarness(t, true)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	google := aggregateXML(false, "google.com", "g-1", "example.org", day,
		aggRow{ip: "192.0.2.10", count: 100, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"},
		aggRow{ip: "198.51.100.7", count: 5, dkim: "fail", spf: "fail", dkimDomain: "news.example", spfDomain: "bounce.news.example"})
	yahoo := aggregateXML(false, "yahoo.com", "y-1", "example.org", day,
		aggRow{ip: "192.0.2.10", count: 40, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"})
	webde := aggregateXML(true, "web.de", "w-1", "example.org", day,
		aggRow{ip: "192.0.2.11", count: 7, dkim: "pass", spf: "fail", dkimDomain: "example.org"},
		aggRow{ip: "203.0.113.5", count: 3, dkim: "fail", spf: "fail", disp: "reject"})
	broken := gzipBytes(t, google)
	mails := []string{
		reportMail("noreply@good.example", reportAddr, "Report Domain: example.org Submitter: google.com Report-ID: g-1",
			"application/gzip", "google.com!example.org!1!2.xml.gz", gzipBytes(t, google)),
		reportMail("noreply@good.example", reportAddr, "Report domain: example.org Submitter: yahoo.com",
			"application/zip", "yahoo.com!example.org!1!2.xml.zip", zipBytes(t, "report.xml", yahoo)),
		"From: noreply@good.example\r\nTo: " + reportAddr + "\r\nSubject: Report Domain: example.org Submitter: web.de Report-ID: <w-1>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/xml\r\n\r\n" + strings.ReplaceAll(webde, "\n", "\r\n"),
		failureMail("noreply@good.example", reportAddr, "example.org", "203.0.113.5"),
		reportMail("noreply@good.example", reportAddr, "broken", "application/gzip", "broken.xml.gz", broken[:len(broken)/2]),
		reportMail("noreply@good.example", reportAddr, "Report Domain: example.org Submitter: google.com Report-ID: g-1 (again)",
			"application/gzip", "google.com!example.org!1!2.xml.gz", gzipBytes(t, google)),
	}
	for i, m := range mails {
		if err := h.send("noreply@good.example", []string{reportAddr}, m); err != nil {
			t.Fatalf("mail %d: %v", i, err)
		}
	}
	waitFor(t, 20*time.Second, "every report mail delivered", func() bool { return h.sink.Count() == len(mails) })
	for _, m := range h.sink.Messages() {
		if len(m.To) != 1 || m.To[0] != reportAddr {
			t.Errorf("delivered to %v", m.To)
		}
	}
	out, err := runCmd(t, h, "domain", "status", "example.org", "--json", "--days", "7")
	if err != nil {
		t.Fatal(err)
	}
	var st inbound.DomainStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if st.Messages != 155 || st.DMARCPass != 147 || st.Reports != 3 || st.Policy != "none" {
		t.Fatalf("messages %d pass %d reports %d policy %q\n%s", st.Messages, st.DMARCPass, st.Reports, st.Policy, out)
	}
	wantSources := map[string]uint64{"192.0.2.10": 140, "192.0.2.11": 7, "198.51.100.7": 5, "203.0.113.5": 3}
	for _, s := range st.Sources {
		if wantSources[s.IP] != s.Messages {
			t.Errorf("source %s: %d messages, want %d", s.IP, s.Messages, wantSources[s.IP])
		}
		delete(wantSources, s.IP)
	}
	if len(wantSources) != 0 || st.Sources[0].IP != "192.0.2.10" || st.Sources[0].DKIMAligned != 140 {
		t.Errorf("sources missing %v; first %+v", wantSources, st.Sources[0])
	}
	wantReporters := map[string]uint64{"google.com": 105, "yahoo.com": 40, "web.de": 10}
	for _, r := range st.Reporters {
		if r.Reports != 1 || wantReporters[r.Org] != r.Messages {
			t.Errorf("reporter %+v", r)
		}
	}
	if len(st.Reporters) != 3 {
		t.Errorf("%d reporters", len(st.Reporters))
	}
	fails, err := runCmd(t, h, "domain", "failures", "example.org")
	if err != nil || !strings.Contains(fails, "source 203.0.113.5") || !strings.Contains(fails, "urgent wire transfer") {
		t.Errorf("domain failures: %v\n%s", err, fails)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "inbound report unreadable") || !strings.Contains(logs, "example.org:duplicate") {
		t.Errorf("the broken and the repeated report are not logged as such")
	}
}

// TestInboundReportsKeptWhenNotDelivered: with deliver = false, report
// mail is not relayed; a readable report is kept as data and its mail
// removed, an unreadable one stays on hold as mail.
func TestInboundReportsKeptWhenNotDelivered(t *testing.T) {
	h := inboundHarness(t, false)
	day := time.Now().UTC().AddDate(0, 0, -1)
	good := aggregateXML(false, "google.com", "g-2", "example.org", day, aggRow{ip: "192.0.2.10", count: 9, dkim: "pass", spf: "pass"})
	for _, m := range []string{
		reportMail("noreply@good.example", reportAddr, "good", "application/gzip", "a.xml.gz", gzipBytes(t, good)),
		reportMail("noreply@good.example", reportAddr, "broken", "application/gzip", "b.xml.gz", []byte("not gzip at all")),
	} {
		if err := h.send("noreply@good.example", []string{reportAddr}, m); err != nil {
			t.Fatal(err)
		}
	}
	var held string
	waitFor(t, 20*time.Second, "the intake", func() bool {
		held, _ = runCmd(t, h, "quarantine", "list")
		out, _ := runCmd(t, h, "domain", "status", "example.org", "--json")
		return strings.Contains(h.logs.String(), "inbound report unreadable") &&
			strings.Count(held, "inbound DMARC report") == 1 && strings.Contains(out, `"messages": 9,`)
	})
	if h.sink.Count() != 0 {
		t.Errorf("%d messages relayed with deliver = false", h.sink.Count())
	}
}

// TestDomainStatusVerdicts: 30 days of reports, imported from files. A
// domain whose legitimate sources all align is ready; one whose newsletter
// provider signs and bounces with its own domain is not, and the provider
// is named; a domain with three days of reports has not enough data.
func TestDomainStatusVerdicts(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.InboundReports.Domains = []string{"example.org", "example.net"}
	})
	for _, d := range []string{"example.org", "example.net", "new.example.org"} {
		h.dns.SetRecords("_dmarc."+d+".", `_dmarc.`+d+`. 300 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org"`)
	}
	dir := t.TempDir()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var files []string
	write := func(name, doc string) {
		p := dir + "/" + name
		if err := os.WriteFile(p, gzipBytes(t, doc), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	own := aggRow{ip: "192.0.2.10", count: 500, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"}
	for d := range 30 { // today and the 29 days before: the default window
		day := today.AddDate(0, 0, -d)
		spoof := aggRow{ip: fmt.Sprintf("203.0.113.%d", d), count: 2, dkim: "fail", spf: "fail", disp: "none"}
		write(fmt.Sprintf("org-%d.xml.gz", d), aggregateXML(false, "google.com", fmt.Sprint("org-", d), "example.org", day, own, spoof))
		netOwn := own
		netOwn.dkimDomain, netOwn.spfDomain = "example.net", "example.net"
		news := aggRow{ip: "198.51.100.20", count: 60, dkim: "fail", spf: "fail", dkimDomain: "mailer.newsletter.example", spfDomain: "bounce.newsletter.example"}
		write(fmt.Sprintf("net-%d.xml.gz", d), aggregateXML(true, "web.de", fmt.Sprint("net-", d), "example.net", day, netOwn, news, spoof))
		if d < 3 {
			write(fmt.Sprintf("new-%d.xml.gz", d), aggregateXML(false, "google.com", fmt.Sprint("new-", d), "new.example.org", day, own))
		}
	}
	out, err := runCmd(t, h, append([]string{"reports", "import"}, files...)...)
	if err != nil || !strings.Contains(out, "kept 63, duplicate 0, foreign domain 0, unreadable 0") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	tests := []struct {
		domain, verdict string
		reasons         []string
	}{
		{"example.org", "ready", []string{"99.6% of 15060 messages passed DMARC over 30 days"}},
		{"example.net", "not-ready", []string{"newsletter.example at 198.51.100.20: 1800 messages failing DMARC, 10.7% of the volume",
			"authenticates as bounce.newsletter.example, mailer.newsletter.example, not aligned with example.net"}},
		{"new.example.org", "not-enough-data", []string{"reports cover 3 of the last 30 days; the rule needs 14"}},
	}
	for _, tc := range tests {
		out, err := runCmd(t, h, "domain", "status", tc.domain, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var st inbound.DomainStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		if keys := topKeys(t, out); keys != statusKeys {
			t.Errorf("%s: keys %s, want %s", tc.domain, keys, statusKeys)
		}
		all := strings.Join(st.Reasons, "\n")
		if st.Verdict != tc.verdict {
			t.Errorf("%s: verdict %s, want %s\n%s", tc.domain, st.Verdict, tc.verdict, all)
		}
		for _, r := range tc.reasons {
			if !strings.Contains(all, r) {
				t.Errorf("%s: reasons lack %q:\n%s", tc.domain, r, all)
			}
		}
		text, err := runCmd(t, h, "domain", "status", tc.domain)
		if err != nil || !strings.Contains(text, "verdict:     "+tc.verdict) {
			t.Errorf("%s text output: %v\n%s", tc.domain, err, text)
		}
	}
}

// statusKeys are the keys of `domain status --json` in their order
// (CONTRACT.md; partial is left out when the record is not partial).
const statusKeys = "domain days from to messages dmarc_pass pass_share reports days_observed reporters sources " +
	"policy record stage next verdict reasons blockers"

// topKeys lists the keys of the JSON object doc, in order.
func topKeys(t *testing.T, doc string) string {
	t.Helper()
	var keys []string
	dec := json.NewDecoder(strings.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v\n%s", err, doc)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(keys, " ")
}
