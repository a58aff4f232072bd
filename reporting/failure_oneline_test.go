package reporting

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"dmarcgate/auth"
	"dmarcgate/dmarcreport"
	"dmarcgate/policy"
)

// TestFeedbackFieldsOnOneLine: a report about a message whose
// Authentication-Results is folded over several lines (as auth writes it)
// carries every field of the message/feedback-report part on one line, in
// the bytes that reach the report address: readers such as parsedmarc cut
// a folded field at its first line. Mail that passed DMARC (fo=1) is
// reported with the mechanism that failed, never "dmarc".
func TestFeedbackFieldsOnOneLine(t *testing.T) {
	e := newFailureEnv(t, func(c *FailureConfig) { c.Redact = false })
	long := strings.Repeat("key record could not be read because of a long reason ", 2)
	dkim := []policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.Fail, Reason: long}}
	ar := auth.Results{
		AuthservID: "mx.ours.example",
		SPF:        auth.SPFOutcome{Result: policy.Pass, Domain: "bounces.esp.example", Scope: "mfrom"},
		DKIM:       []auth.DKIMOutcome{{Domain: "a.example", Selector: "s1", Algorithm: "rsa-sha256", Result: policy.Fail, Reason: long, HeaderB: "AbCdEfGh"}},
		DMARC:      policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionReject, Disposition: policy.ActionReject},
		FromDomain: "a.example",
	}.Header()
	if !strings.Contains(ar, "\r\n\t") {
		t.Fatalf("the sample Authentication-Results is not folded: %q", ar)
	}
	cases := []struct {
		domain string
		d      policy.Decision
		spf    policy.SPFResult
		want   string
	}{
		{"fail.example", bothFail, spfFail, "dmarc"},
		{"spf-unaligned.example", dkimOnly, policy.SPFResult{Domain: "bounces.esp.example", Scope: "mfrom", Result: policy.Pass}, "spf"},
		{"dkim-failed.example", spfOnly, spfPass, "signature"},
	}
	for _, c := range cases {
		ev := failingEvent(c.domain, "192.0.2.1", fmt.Sprintf(rufRecord+"; fo=1", c.domain), c.d, c.spf, dkim)
		ev.AuthResults = ar
		if !e.arrive(ev) {
			t.Fatalf("%s: no report due", c.domain)
		}
	}
	e.sendFailures()
	msgs, err := e.sink.Wait(len(cases), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range msgs {
		fields := feedbackPart(t, m.Data)
		checkOneLineFields(t, fields)
		rep, err := dmarcreport.ParseFailureReport(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		if v := rep.Get("Authentication-Results"); !strings.Contains(v, "dmarc=fail") || !strings.Contains(v, "reason=") {
			t.Errorf("Authentication-Results lost a method: %q", v)
		}
		got[rep.Get("Reported-Domain")] = rep.Get("Auth-Failure")
	}
	for _, c := range cases {
		if got[c.domain] != c.want {
			t.Errorf("%s: Auth-Failure %q, want %q", c.domain, got[c.domain], c.want)
		}
	}
}

// fieldLine is one unfolded field: a name, a colon and a value.
var fieldLine = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*: \S.*$`)

// checkOneLineFields fails on a continuation line or any line that is not
// a whole field, and on a line longer than RFC 5322 allows.
func checkOneLineFields(t *testing.T, part []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(part), "\r\n"), "\r\n")
	if len(lines) < 5 {
		t.Fatalf("feedback-report part has %d lines:\n%s", len(lines), part)
	}
	for _, l := range lines {
		if !fieldLine.MatchString(l) || len(l) > maxLine {
			t.Errorf("not a one-line field: %q", l)
		}
	}
}

// feedbackPart returns the raw bytes of the message/feedback-report part.
func feedbackPart(t *testing.T, data []byte) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for i := 0; i < 10; i++ {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		if mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); mt == "message/feedback-report" {
			var b bytes.Buffer
			if _, err := b.ReadFrom(p); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
	}
	t.Fatalf("no message/feedback-report part:\n%s", data)
	return nil
}

// TestOneLineField: line breaks become one space, whatever blanks surround
// them; other controls go; an over-long value is cut at a method boundary.
func TestOneLineField(t *testing.T) {
	longAR := "mx.example; spf=pass smtp.mailfrom=a.example;" + strings.Repeat(" dkim=pass header.d=a.example header.s=s1;", 30) + " dmarc=pass"
	tests := []struct{ in, want string }{
		{"a;\r\n\tb=c;\r\n\t d", "a; b=c; d"},
		{"a \n  b", "a b"},
		{"a\r\rb", "a b"},
		{"\r\n\ta\tb\x00c\x7f\r\n", "a bc"},
		{"plain", "plain"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := oneLineField("X", tt.in); got != tt.want {
			t.Errorf("oneLineField(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := oneLineField("Authentication-Results", longAR)
	if len("Authentication-Results: "+got) > maxLine || !strings.HasSuffix(got, "header.s=s1") {
		t.Errorf("long value not cut at a method boundary: %d octets, ends %q", len(got), got[max(0, len(got)-20):])
	}
	if got := oneLineField("X", strings.Repeat("x", 2000)); len(got) != maxLine-3 {
		t.Errorf("a value without ';' cut to %d octets", len(got))
	}
}
