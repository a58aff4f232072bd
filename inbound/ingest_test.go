package inbound

import (
	"context"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func counted(kind string, o Outcome) float64 {
	var m dto.Metric
	if err := reportsTotal.WithLabelValues(kind, string(o)).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestIngestCounts: each report received is counted by kind and outcome.
func TestIngestCounts(t *testing.T) {
	s := openStore(t, "example.com")
	xml, err := os.ReadFile("../testdata/dmarc-aggregate/samples/parsedmarc/rfc9990-sample.xml")
	if err != nil {
		t.Fatal(err)
	}
	ruf, err := os.ReadFile("../testdata/dmarc-failure/parsedmarc/dmarc_ruf_report_linkedin.eml")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile("../testdata/dmarc-aggregate/samples/cry-inc/google.xml")
	items := [][]byte{xml, xml, xml[:len(xml)/2], other, ruf, ruf}
	before := map[[2]string]float64{}
	keys := [][2]string{{"aggregate", "kept"}, {"aggregate", "duplicate"}, {"aggregate", "unreadable"},
		{"aggregate", "foreign_domain"}, {"failure", "kept"}, {"failure", "duplicate"}}
	for _, k := range keys {
		before[k] = counted(k[0], Outcome(k[1]))
	}
	res, err := s.IngestAll(context.Background(), items, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{Kept, Duplicate, Unreadable, Foreign, Kept, Duplicate}
	for i, r := range res {
		if r.Outcomes[0] != want[i] {
			t.Errorf("item %d: %v (%v), want %v", i, r.Outcomes, r.Err, want[i])
		}
	}
	for _, k := range keys {
		if d := counted(k[0], Outcome(k[1])) - before[k]; d != 1 {
			t.Errorf("%v counted %v times", k, d)
		}
	}
}

func TestSplitMbox(t *testing.T) {
	box := "From a@b Mon Jan 1 00:00:00 2026\nSubject: 1\n\nbody\nFrom a@b Mon Jan 1 00:00:00 2026\nSubject: 2\n\nx\n"
	parts := SplitMbox([]byte(box))
	if len(parts) != 2 || string(parts[0]) != "Subject: 1\n\nbody\n" || string(parts[1]) != "Subject: 2\n\nx\n" {
		t.Fatalf("%q", parts)
	}
	if one := SplitMbox([]byte("<feedback/>")); len(one) != 1 {
		t.Fatalf("%q", one)
	}
}
