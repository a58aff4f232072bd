package inbound

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestDomainStatusJSON pins `domain status --json` (CONTRACT.md) byte for
// byte: keys, their order, what is omitted when empty, empty lists as [].
// The golden file was written by the command before its type moved here.
func TestDomainStatusJSON(t *testing.T) {
	d := time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC)
	full := &Summary{Domain: "example.org", From: d, To: d.AddDate(0, 0, 29), Reports: 31, Messages: 1000, DMARCPass: 900, DaysObserved: 20,
		Reporters: []ReporterStat{{Org: "google.com", Email: "noreply-dmarc-support@google.com", Reports: 31, Messages: 1000, Last: d.AddDate(0, 0, 29)}},
		Sources: []*SourceStat{
			{IP: "192.0.2.10", Messages: 900, DMARCPass: 900, SPFAligned: 900, DKIMAligned: 890, Disposition: map[string]uint64{"none": 900},
				SPF: map[string]uint64{"example.org=pass": 900}, DKIM: map[string]uint64{"example.org=pass": 890, "example.org=fail": 10},
				HeaderFrom: map[string]uint64{"example.org": 900}, PTR: "mail.example.org", Org: "example.org"},
			{IP: "198.51.100.20", Messages: 100, Disposition: map[string]uint64{"none": 100}, SPF: map[string]uint64{"bounce.news.example=pass": 100},
				DKIM: map[string]uint64{}, HeaderFrom: map[string]uint64{"example.org": 100}, Org: "news.example"},
		}}
	cases := []struct {
		sum  *Summary
		days int
		pub  Published
	}{
		{full, 30, Published{Found: true, P: "quarantine", Pct: 50, Testing: true, Record: "v=DMARC1; p=quarantine; pct=50; t=y"}},
		{full, 30, Published{Found: true, P: "none", Pct: 100, Record: "v=DMARC1; p=none"}}, // no "partial"
		{&Summary{Domain: "new.example", From: d, To: d}, 1, Published{Err: "no record"}},   // [] for no reporters, sources
	}
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetIndent("", "  ") // as the command writes it
	for _, c := range cases {
		if err := enc.Encode(StatusOf(c.sum, c.days, c.pub, DefaultRule)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/domain_status.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("domain status JSON changed; got:\n%s", got.String())
	}
}
