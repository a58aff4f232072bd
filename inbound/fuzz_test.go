package inbound

import (
	"bytes"
	"testing"
	"time"

	"dmarcgate/dmarcreport"
)

// FuzzFromReport: whatever a report holds, what the store would keep of it
// encodes and decodes back unchanged, and a failure report gives a sample
// without panicking.
func FuzzFromReport(f *testing.F) {
	f.Add([]byte(`<feedback><report_metadata><org_name>o</org_name><report_id>1</report_id><date_range><begin>86400</begin><end>1</end></date_range></report_metadata>` +
		`<policy_published><domain>Example.ORG.</domain></policy_published><record><row><source_ip>2001:DB8::1</source_ip><count>3</count>` +
		`<policy_evaluated><disposition>Pass</disposition><dkim>PASS</dkim></policy_evaluated></row><auth_results><dkim><domain>a</domain><result>pass</result></dkim></auth_results></record></feedback>`))
	f.Add([]byte("Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\nSource-IP: 192.0.2.1\r\n\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if isFailureReport(data) {
			if fr, err := dmarcreport.ParseFailureReport(bytes.NewReader(data)); err == nil {
				FromFailure(fr, "", time.Unix(0, 0))
			}
			return
		}
		reps, err := dmarcreport.ReadReport(data)
		if err != nil {
			return
		}
		for _, p := range reps {
			r := FromAggregate(p)
			got, err := decodeReport(encodeReport(r))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rows) != len(r.Rows) || got.Messages() != r.Messages() {
				t.Fatalf("rows %d/%d messages %d/%d", len(got.Rows), len(r.Rows), got.Messages(), r.Messages())
			}
		}
	})
}

func FuzzSplitMbox(f *testing.F) {
	f.Add([]byte("From a\nx\nFrom b\ny\n"))
	f.Add([]byte("From \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		total := 0
		for _, p := range SplitMbox(data) {
			total += len(p)
		}
		if total > len(data) {
			t.Fatalf("parts hold %d bytes of %d", total, len(data))
		}
	})
}
