package main

import (
	"bytes"
	"compress/gzip"
	"dmarcgate/internal/needs"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/dmarcreport"
	"dmarcgate/reporting"
	"dmarcgate/smtpsink"
)

// sendFrom sends from a chosen loopback source address (127.0.0.x), so
// that reports see several source IPs.
func sendFrom(t *testing.T, addr, srcIP, from string, to []string, msg string) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(srcIP)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", srcIP, err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	return c.SendMail(from, to, strings.NewReader(msg))
}

// aggregateReports returns the aggregate reports the smarthost received, by domain.
func aggregateReports(t *testing.T, sink *smtpsink.Sink) map[string][]*smtpsink.Received {
	t.Helper()
	out := map[string][]*smtpsink.Received{}
	msgs := sink.Messages()
	for i := range msgs {
		m, err := mail.ReadMessage(bytes.NewReader(msgs[i].Data))
		if err != nil {
			t.Fatalf("report is not a message: %v", err)
		}
		subj := m.Header.Get("Subject")
		if !strings.HasPrefix(subj, "Report Domain: ") {
			continue
		}
		domain := strings.Fields(subj)[2]
		out[domain] = append(out[domain], &msgs[i])
	}
	return out
}

func TestAggregateReportsThroughTheGateway(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.SetRecords("_dmarc.quar.example.", `_dmarc.quar.example. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:reports@quar.example,mailto:reports@quar.example"`)
	signer := h.newRSASigner("good.example", "s1")
	sent := map[string]int{}
	// good.example: aligned SPF from two source IPs, DKIM-only forwarded, and spoofed (rejected).
	for i, src := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.3"} {
		if err := sendFrom(t, h.addr, src, "a@good.example", []string{"bob@example.org"}, message("a@good.example", fmt.Sprint("spf ", i))); err != nil {
			t.Fatal(err)
		}
		sent["good.example"]++
	}
	if err := sendFrom(t, h.addr, "127.0.0.4", "list@forwarder.example", []string{"bob@example.org"}, signer.sign(t, message("a@good.example", "fwd"))); err != nil {
		t.Fatal(err)
	}
	sent["good.example"]++
	for i := 0; i < 2; i++ {
		err := sendFrom(t, h.addr, "127.0.0.5", "spoof@forwarder.example", []string{"bob@example.org"}, message("ceo@good.example", "spoof"))
		if smtpCode(err) != "550 5.7.26" {
			t.Fatalf("spoof: %v", err)
		}
		sent["good.example"]++
	}
	// quar.example: quarantined mail, its rua listed twice.
	for i := 0; i < 3; i++ {
		if err := sendFrom(t, h.addr, "127.0.0.2", "x@quar.example", []string{"bob@example.org"}, message("x@quar.example", "q")); err != nil {
			t.Fatal(err)
		}
		sent["quar.example"]++
	}
	// Reports about reports are never recorded.
	if err := sendFrom(t, h.addr, "127.0.0.2", "a@good.example", []string{"dmarc-reports@example.org"}, message("a@good.example", "to the report address")); err != nil {
		t.Fatal(err)
	}

	preview, err := runCmd(t, h, "reports", "preview", "--domain", "good.example")
	if err != nil || !strings.Contains(preview, "urn:ietf:params:xml:ns:dmarc-2.0") {
		t.Fatalf("reports preview: %v\n%s", err, preview)
	}
	out, err := runCmd(t, h, "reports", "send")
	if err != nil {
		t.Fatalf("reports send: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "two reports at the smarthost", func() bool { return len(aggregateReports(t, h.out)) == 2 })
	byDomain := aggregateReports(t, h.out)
	for domain, n := range sent {
		msgs := byDomain[domain]
		if len(msgs) != 1 {
			t.Fatalf("%s: %d report messages, want 1", domain, len(msgs))
		}
		rep := checkReportMessage(t, msgs[0], domain)
		if got := rep.MessageCount(); got != int64(n) {
			t.Errorf("%s: report counts %d messages, sent %d", domain, got, n)
		}
		t.Logf("%s: %d rows for %d messages", domain, len(rep.Records), n)
	}
	good := checkReportMessage(t, byDomain["good.example"][0], "good.example")
	rows := map[string]int64{}
	for _, r := range good.Records {
		rows[r.Row.SourceIP+" "+r.Row.PolicyEvaluated.Disposition+" "+r.Row.PolicyEvaluated.DKIM+"/"+r.Row.PolicyEvaluated.SPF] += r.Row.Count
	}
	// Passing mail shows disposition none by default (reporting.pass_disposition).
	if rows["127.0.0.2 none fail/pass"] != 2 || rows["127.0.0.5 reject fail/fail"] != 2 || len(good.Records) != 4 {
		t.Errorf("rows not aggregated by source and results: %v", rows)
	}
	if to := byDomain["quar.example"][0].To; len(to) != 1 {
		t.Errorf("duplicate rua destinations not merged: %v", to)
	}
	// A second send finds nothing new.
	if out, err := runCmd(t, h, "reports", "send"); err != nil {
		t.Fatal(err, out)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(aggregateReports(t, h.out)); n != 2 {
		t.Errorf("a second reports send sent again: %d reports", n)
	}
}

// checkReportMessage checks the RFC 9990 mail shape and returns the report.
func checkReportMessage(t *testing.T, r *smtpsink.Received, domain string) *reporting.AggregateReport {
	t.Helper()
	if r.From != "dmarc-reports@example.org" {
		t.Errorf("report envelope sender %q", r.From)
	}
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatal(err)
	}
	subj := m.Header.Get("Subject")
	if !strings.HasPrefix(subj, "Report Domain: "+domain+" Submitter: example.org Report-ID: ") {
		t.Errorf("Subject %q", subj)
	}
	if from := m.Header.Get("From"); !strings.Contains(from, "dmarc-reports@example.org") || m.Header.Get("Message-ID") == "" || m.Header.Get("Date") == "" {
		t.Errorf("From %q / Message-ID / Date missing", from)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var names []string
	var original []byte
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if fn := p.FileName(); fn != "" {
			names = append(names, fn)
			if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/gzip") {
				t.Errorf("attachment type %q", ct)
			}
			raw, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("attachment is not gzip: %v", err)
			}
			original, _ = io.ReadAll(zr)
		}
	}
	if len(names) != 1 || !strings.HasPrefix(names[0], "example.org!"+domain+"!") || !strings.HasSuffix(names[0], ".xml.gz") {
		t.Errorf("attachment names %v, want receiver!domain!begin!end!id.xml.gz", names)
	}
	reps, err := dmarcreport.ReadReport(r.Data)
	if err != nil || len(reps) != 1 {
		t.Fatalf("reading the report: %v (%d)", err, len(reps))
	}
	validateRFC9990(t, original) // the bytes as sent, not a re-encoding
	return reps[0]
}

// validateRFC9990 runs xmllint against the RFC 9990 schema.
func validateRFC9990(t *testing.T, doc []byte) {
	t.Helper()
	needs.Command(t, "xmllint", "libxml2-utils")
	f := filepath.Join(t.TempDir(), "report.xml")
	os.WriteFile(f, doc, 0o600)
	xsd := filepath.Join("..", "..", "testdata", "dmarc-aggregate", "xsd", "rfc9990-appendix-a.xsd")
	if out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", xsd, f).CombinedOutput(); err != nil {
		t.Errorf("report does not validate against RFC 9990: %v\n%s", err, out)
	}
}
