package reporting

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"dmarcgate/dmarcreport"
	"dmarcgate/policy"
)

// TestPassDispositionRoundTrip: the reports we send, with pass_disposition
// unset and set, read back through our own parser to the same bytes, are
// XSD-valid, and show passing mail under an enforcing policy as "none" by
// default (what RFC 7489 readers accept) or "pass" when asked. Rows that
// differ only by "pass" and "none" become one row when both show "none".
func TestPassDispositionRoundTrip(t *testing.T) {
	byDefault := map[string]int64{"none": 3, "reject": 1}
	for _, tc := range []struct {
		setting string
		want    map[string]int64 // messages by disposition
	}{
		{"", byDefault},
		{"none", byDefault},
		{"pass", map[string]int64{"pass": 2, "none": 1, "reject": 1}},
	} {
		t.Run("pass_disposition="+tc.setting, func(t *testing.T) {
			e := newEnv(t, nil, func(c *Config) { c.PassDisposition = tc.setting })
			reject := "v=DMARC1; p=reject; rua=mailto:rua@a.example"
			none := "v=DMARC1; p=none; rua=mailto:rua@a.example"
			e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: reject}))
			e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: reject}))
			// The same mail while the domain still published p=none.
			e.record(event(t, msg{ip: "192.0.2.1", from: "a.example", record: none}))
			e.record(event(t, msg{ip: "198.51.100.7", from: "a.example", spf: policy.Fail,
				decision: policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionReject, Disposition: policy.ActionReject}}))

			preview := e.previewOne("a.example")
			e.send(true)
			got := receivedReports(t, e.sink)
			if len(got) != 1 {
				t.Fatalf("%d reports, want 1", len(got))
			}
			for name, doc := range map[string][]byte{"sent": got[0].xml, "preview": preview} {
				rep := checkOwnRoundTrip(t, doc)
				// One row per disposition: equal rows are merged.
				if n := len(rep.Records); n != len(tc.want) {
					t.Errorf("%s: %d rows, want %d:\n%s", name, n, len(tc.want), doc)
				}
				if d := dispositions(rep); !maps.Equal(d, tc.want) {
					t.Errorf("%s: messages by disposition %v, want %v", name, d, tc.want)
				}
				if tc.want["pass"] == 0 && strings.Contains(string(doc), "<disposition>pass</disposition>") {
					t.Errorf("%s: pass disposition emitted:\n%s", name, doc)
				}
			}
		})
	}
}

// checkOwnRoundTrip parses doc with ParseAggregate, renders it again and
// wants the same bytes; doc must be valid against the RFC 9990 schema
// where xmllint is available.
func checkOwnRoundTrip(t *testing.T, doc []byte) *AggregateReport {
	t.Helper()
	rep, err := dmarcreport.ParseAggregate(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("our parser refuses our report: %v\n%s", err, doc)
	}
	again, err := rep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, doc) {
		t.Errorf("round trip changed the report:\n got %s\nwant %s", again, doc)
	}
	// A subtest, so that a missing xmllint skips only this check.
	t.Run("xsd", func(t *testing.T) {
		if err := validateXSD(t, doc); err != nil {
			t.Errorf("%v\n%s", err, doc)
		}
	})
	return rep
}

// dispositions counts a report's messages by disposition.
func dispositions(r *AggregateReport) map[string]int64 {
	out := map[string]int64{}
	for _, rec := range r.Records {
		out[rec.Row.PolicyEvaluated.Disposition] += rec.Row.Count
	}
	return out
}
