package dmarcreport

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const failureSamples = "../testdata/dmarc-failure"

func readFailureSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(failureSamples, name))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	return b
}

func TestParseFailureReportSamples(t *testing.T) {
	tests := []struct {
		file     string
		want     map[string]string // field -> value
		origType string
		hasBody  bool
	}{
		{
			file: "ietf-draft/draft-ietf-dmarc-failure-reporting-24-example.eml",
			want: map[string]string{
				"Feedback-Type": "auth-failure", "Auth-Failure": "dmarc", "Identity-Alignment": "dkim",
				"DKIM-Domain": "consumer.example", "DKIM-Selector": "epsilon", "Source-IP": "192.0.2.2",
				"Reported-Domain": "consumer.example", "Original-Mail-From": "author=gen.example@forwarder.example",
				"Authentication-Results": "gen.example; dmarc=fail header.from=consumer.example",
			},
			origType: "message/rfc822", hasBody: true,
		},
		{
			file: "parsedmarc/dmarc_ruf_report_linkedin.eml",
			want: map[string]string{
				"Feedback-Type": "auth-failure", "Auth-Failure": "dmarc", "Source-IP": "10.10.10.10",
				"Reported-Domain": "example.com", "Arrival-Date": "Tue, 30 Apr 2019 02:09:00 +0000",
				"Delivery-Result": "delivered", "Original-Mail-From": "",
			},
			origType: "message/rfc822", hasBody: true,
		},
		{
			file:     "parsedmarc/dmarc_ruf_report_linkedin.crlf.eml",
			want:     map[string]string{"Feedback-Type": "auth-failure", "Reported-Domain": "example.com", "Source-IP": "10.10.10.10"},
			origType: "message/rfc822", hasBody: true,
		},
		{
			file: "parsedmarc/dmarc_failure_report_domain.de_sharepoint.eml",
			want: map[string]string{
				"Feedback-Type": "auth-failure", "Auth-Failure": "dmarc", "Reported-Domain": "domain.de",
				"Original-Mail-From": "sharepoint@domain.de", "Delivery-Result": "smg-policy-action",
			},
			origType: "message/rfc822", hasBody: true,
		},
		{
			// multipart/mixed with a base64 feedback part.
			file: "parsedmarc/netease_dmarc_failure_report.eml",
			want: map[string]string{
				"Feedback-Type": "auth-failure", "Reported-Domain": "cardinal.com", "Source-IP": "167.89.69.24",
				"DKIM-Domain": "entrata.com", "Identity-Alignment": "spf,dkim", "Delivery-Result": "delivered",
			},
			origType: "message/rfc822",
		},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			rep, err := ParseFailureReport(bytes.NewReader(readFailureSample(t, tt.file)))
			if err != nil {
				t.Fatalf("ParseFailureReport: %v", err)
			}
			for name, want := range tt.want {
				if !rep.Has(name) {
					t.Errorf("field %s missing", name)
				} else if got := rep.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if rep.OriginalType != tt.origType {
				t.Errorf("OriginalType = %q, want %q", rep.OriginalType, tt.origType)
			}
			if rep.OriginalHasBody != tt.hasBody {
				t.Errorf("OriginalHasBody = %v, want %v", rep.OriginalHasBody, tt.hasBody)
			}
			if !bytes.Contains(bytes.ToLower(rep.OriginalHeader), []byte("from:")) {
				t.Errorf("original header has no From field: %q", rep.OriginalHeader)
			}
			if rep.Human == "" {
				t.Error("no human-readable part")
			}
		})
	}
}

func TestParseFailureReportWithoutFeedbackPart(t *testing.T) {
	_, err := ParseFailureReport(bytes.NewReader(readFailureSample(t, "parsedmarc/exim_plain_text_only_no_arf_part.eml")))
	if !errors.Is(err, ErrNoFeedbackReport) {
		t.Fatalf("err = %v, want ErrNoFeedbackReport", err)
	}
}

func TestParseFailureReportErrors(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"not multipart", "Subject: x\r\nContent-Type: text/plain\r\n\r\nhello\r\n", "not multipart"},
		{"no boundary", "Content-Type: multipart/report\r\n\r\nx\r\n", "boundary"},
		{"no header", "", "malformed message header"},
		{"empty feedback", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\n\r\n--b--\r\n", "empty feedback"},
		{"bad field", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nno colon here\r\n--b--\r\n", "malformed feedback report line"},
		{"no feedback type", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nVersion: 1\r\n--b--\r\n", "no Feedback-Type"},
		{"too deep", nested(maxARFDepth + 2), "nested too deep"},
		{"field too long", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\n" +
			"Feedback-Type: x\r\n" + strings.Repeat(" more text\r\n", 10000) + "--b--\r\n", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFailureReport(strings.NewReader(tt.msg))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// nested builds a multipart message n levels deep, each boundary closed.
func nested(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func TestParseFailureReportFolding(t *testing.T) {
	msg := "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n" +
		"--b\nContent-Type: message/feedback-report\n\n\n" +
		"Feedback-Type: auth-failure\nAuthentication-Results: mx.example;\n\tdmarc=fail\n  header.from=a.example\n" +
		"Original-Rcpt-To: <a@x.example>\nOriginal-Rcpt-To: <b@x.example>\n--b--\n"
	rep, err := ParseFailureReport(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Get("authentication-results"), "mx.example; dmarc=fail header.from=a.example"; got != want {
		t.Errorf("unfolded value = %q, want %q", got, want)
	}
	if got := rep.Values("Original-Rcpt-To"); len(got) != 2 || got[1] != "<b@x.example>" {
		t.Errorf("repeated field = %q", got)
	}
	if rep.ReportType != "feedback-report" {
		t.Errorf("ReportType = %q", rep.ReportType)
	}
}

func FuzzParseFailureReport(f *testing.F) {
	for _, name := range []string{
		"ietf-draft/draft-ietf-dmarc-failure-reporting-24-example.eml",
		"parsedmarc/netease_dmarc_failure_report.eml",
		"parsedmarc/exim_plain_text_only_no_arf_part.eml",
	} {
		f.Add(readFailureSample(f, name))
	}
	f.Add([]byte("Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\nContent-Transfer-Encoding: base64\r\n\r\nRmVlZGJhY2stVHlwZTogYXV0aC1mYWlsdXJl\r\n--b--\r\n"))
	f.Add([]byte(nested(12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ParseFailureReport(bytes.NewReader(data))
		if err != nil {
			if rep != nil {
				t.Fatal("report returned with an error")
			}
			return
		}
		if !rep.Has("Feedback-Type") {
			t.Fatal("report accepted without Feedback-Type")
		}
	})
}
