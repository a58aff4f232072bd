package reporting

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"dmarcgate/dmarcreport"
)

const sampleOriginal = "Received: from mail.a.example (mail.a.example [192.0.2.7])\r\n" +
	"\tby mx.ours.example with ESMTP id abc for <alice@ours.example>;\r\n" +
	"\tFri, 01 May 2026 10:00:00 +0000\r\n" +
	"DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=s1; i=news@a.example; b=AAAA\r\n" +
	"Message-ID: <1234.5678@mail.a.example>\r\n" +
	"From: \"Bob Sender\" <bob@a.example>\r\n" +
	"To: alice@ours.example, \"carol\"@ours.example\r\n" +
	"Cc: Dave <dave.smith+tag@ours.example>\r\n" +
	"Subject: quarterly numbers\r\n"

func samplePending() *pendingFailure {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	return &pendingFailure{
		Created: t0, Arrival: t0, SourceIP: "192.0.2.7", SourcePort: 50123,
		EnvelopeFrom: "bounce-bob@a.example", EnvelopeTo: []string{"alice@ours.example"},
		HeaderFrom: "a.example", PolicyDomain: "a.example", OrgDomain: "a.example",
		AuthFailure: "dmarc", Option: "0", IdentityAlignment: "dkim,spf",
		AuthResults: "mx.ours.example; spf=fail smtp.mailfrom=bounce-bob@a.example;\r\n\tdkim=fail header.d=a.example header.s=s1;\r\n\tdmarc=fail (p=reject dis=reject) header.from=a.example",
		DMARCResult: "fail", PolicyInForce: "reject", Disposition: "reject", DeliveryResult: "reject",
		DKIMDomain: "a.example", DKIMSelector: "s1", SPFDNS: `txt : a.example : "v=spf1 -all"`,
		QueueID: "0abc", Header: []byte(sampleOriginal), Dest: []string{"ruf@a.example"},
	}
}

func sampleFormat(redact bool) reportFormat {
	f := reportFormat{
		From: "dmarc-reports@ours.example", OrgName: "Ours Inc", Hostname: "mx.ours.example",
		UserAgent: "dmarcgate/1", Now: time.Date(2026, 5, 1, 10, 1, 0, 0, time.UTC),
	}
	if redact {
		f.Redact = &redactor{key: []byte("test key")}
	}
	return f
}

func renderSample(t *testing.T, p *pendingFailure, f reportFormat) (*dmarcreport.FailureReport, []byte) {
	t.Helper()
	r, err := renderFailureReport(p, "ruf@a.example", f)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dmarcreport.ParseFailureReport(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("our report does not parse: %v\n%s", err, r.Data)
	}
	return rep, r.Data
}

func TestRenderedReportShape(t *testing.T) {
	rep, data := renderSample(t, samplePending(), sampleFormat(false))
	if rep.ReportType != "feedback-report" {
		t.Errorf("report-type = %q", rep.ReportType)
	}
	if rep.OriginalType != "text/rfc822-headers" || rep.OriginalHasBody {
		t.Errorf("original part: %q, body %v; want headers only", rep.OriginalType, rep.OriginalHasBody)
	}
	if !strings.Contains(rep.Human, "192.0.2.7") {
		t.Errorf("human-readable part lacks the source IP: %q", rep.Human)
	}
	want := []arfField{
		{"Feedback-Type", "auth-failure"},
		{"Version", "1"},
		{"User-Agent", "dmarcgate/1"},
		{"Auth-Failure", "dmarc"},
		{"Authentication-Results", "mx.ours.example; spf=fail smtp.mailfrom=bounce-bob@a.example; dkim=fail header.d=a.example header.s=s1; dmarc=fail (p=reject dis=reject) header.from=a.example"},
		{"Identity-Alignment", "dkim,spf"},
		{"DKIM-Domain", "a.example"},
		{"DKIM-Identity", "@a.example"},
		{"DKIM-Selector", "s1"},
		{"SPF-DNS", `txt : a.example : "v=spf1 -all"`},
		{"Original-Envelope-Id", "0abc"},
		{"Original-Mail-From", "<bounce-bob@a.example>"},
		{"Original-Rcpt-To", "<alice@ours.example>"},
		{"Arrival-Date", "Fri, 01 May 2026 10:00:00 +0000"},
		{"Source-IP", "192.0.2.7"},
		{"Source-Port", "50123"},
		{"Reported-Domain", "a.example"},
		{"Delivery-Result", "reject"},
	}
	if len(rep.Fields) != len(want) {
		t.Fatalf("fields = %q\nwant %q", rep.Fields, want)
	}
	for i := range want {
		if rep.Fields[i] != dmarcreport.ARFField(want[i]) {
			t.Errorf("field %d = %q, want %q", i, rep.Fields[i], want[i])
		}
	}
	if !bytes.Equal(rep.OriginalHeader, []byte(sampleOriginal)) {
		t.Errorf("original header changed:\n%s", rep.OriginalHeader)
	}
	for _, h := range []string{"\r\nAuto-Submitted: auto-generated\r\n", "\r\nTo: <ruf@a.example>\r\n", "From: \"Ours Inc\" <dmarc-reports@ours.example>\r\n"} {
		if !bytes.Contains(data, []byte(h)) {
			t.Errorf("top header lacks %q", h)
		}
	}
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the report")
	}
}

func TestRenderedReportRedacted(t *testing.T) {
	rep, data := renderSample(t, samplePending(), sampleFormat(true))
	for _, local := range []string{"alice@", "bob@", "bounce-bob@", "carol", "dave.smith"} {
		if bytes.Contains(data, []byte(local)) {
			t.Errorf("redacted report still shows %q", local)
		}
	}
	hashed := regexp.MustCompile(`^<redacted-[0-9a-f]{16}@ours\.example>$`)
	if got := rep.Get("Original-Rcpt-To"); !hashed.MatchString(got) {
		t.Errorf("Original-Rcpt-To = %q", got)
	}
	if got := rep.Get("Authentication-Results"); !strings.Contains(got, "smtp.mailfrom=redacted-") {
		t.Errorf("Authentication-Results = %q", got)
	}
	// Identifiers and signatures stay, so the domain owner can find the message.
	for _, keep := range []string{"<1234.5678@mail.a.example>", "i=news@a.example", "header.from=a.example"} {
		if !bytes.Contains(data, []byte(keep)) {
			t.Errorf("redaction removed %q", keep)
		}
	}
	// The same mailbox gets the same pseudonym (RFC 6590 §4).
	r := redactor{key: []byte("test key")}
	if r.address("Alice@ours.example") != r.address("alice@ours.example") {
		t.Error("pseudonym depends on case")
	}
}

func TestRenderedReportWithBody(t *testing.T) {
	p := samplePending()
	p.Body = []byte("Hi alice@ours.example,\nthe numbers.\n")
	rep, data := renderSample(t, p, sampleFormat(true))
	if rep.OriginalType != "message/rfc822" || !rep.OriginalHasBody {
		t.Fatalf("original part %q, body %v; want message/rfc822 with body", rep.OriginalType, rep.OriginalHasBody)
	}
	if bytes.Contains(data, []byte("alice@")) || !bytes.Contains(data, []byte("the numbers.\r\n")) {
		t.Errorf("body not redacted or not CRLF:\n%s", data)
	}
}

func TestRenderRefusesBadDestination(t *testing.T) {
	for _, dest := range []string{"", "a@b.example\r\nBcc: x@y.example", "<a@b.example>"} {
		if _, err := renderFailureReport(samplePending(), dest, sampleFormat(false)); err == nil {
			t.Errorf("destination %q accepted", dest)
		}
	}
}

func TestRedactText(t *testing.T) {
	r := redactor{key: []byte("k")}
	tests := []struct{ in, keep, drop string }{
		{"smtp.mailfrom=user@a.example", "smtp.mailfrom=redacted-", "user"},
		{"envelope-from=<user@a.example>", "envelope-from=<redacted-", "user"},
		{"bounces+1137616-c1ad-xsj399=163.com@email.entrata.com", "@email.entrata.com", "xsj399"},
		{`"john doe"@a.example`, "@a.example", "john"},
		{"author=gen.example@forwarder.example", "@forwarder.example", "author"},
		{"no address here; x@y", "no address here; x@y", ""},
	}
	for _, tt := range tests {
		got := string(r.text([]byte(tt.in)))
		if !strings.Contains(got, tt.keep) || (tt.drop != "" && strings.Contains(got, tt.drop)) {
			t.Errorf("redact(%q) = %q; want it to keep %q and drop %q", tt.in, got, tt.keep, tt.drop)
		}
	}
}

// TestOurFieldsCoverSamples: every feedback field a real-world sample
// carries is in ours too, except fields we cannot know.
func TestOurFieldsCoverSamples(t *testing.T) {
	notKnown := map[string]string{
		"source-port": "the client port is not recorded",
		"message-id":  "not an ARF field; the original's Message-ID is in the third part",
	}
	p := samplePending()
	ours, _ := renderSample(t, p, sampleFormat(true))
	files, err := filepath.Glob(filepath.Join(failureSamples, "*", "*.eml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("samples: %v, %d files", err, len(files))
	}
	checked := 0
	for _, file := range files {
		rel, _ := filepath.Rel(failureSamples, file)
		theirs, err := dmarcreport.ParseFailureReport(bytes.NewReader(readFailureSample(t, rel)))
		if err != nil {
			continue // the sample without a feedback part; tested elsewhere
		}
		checked++
		for _, f := range theirs.Fields {
			if _, skip := notKnown[strings.ToLower(f.Name)]; skip {
				continue
			}
			if !ours.Has(f.Name) {
				t.Errorf("%s has %s, ours does not", rel, f.Name)
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d samples parsed", checked)
	}
}

func TestQuoteLocalPart(t *testing.T) {
	tests := map[string]string{
		"user@a.example":           "user@a.example",
		"first.last+tag@a.example": "first.last+tag@a.example",
		"john doe@a.example":       `"john doe"@a.example`,
		`a"b@a.example`:            `"a\"b"@a.example`,
		".lead@a.example":          `".lead"@a.example`,
		"пользователь@a.example":   "пользователь@a.example",
		"no-at-sign":               "no-at-sign",
	}
	for in, want := range tests {
		if got := quoteLocalPart(in); got != want {
			t.Errorf("quoteLocalPart(%q) = %q, want %q", in, got, want)
		}
	}
}
