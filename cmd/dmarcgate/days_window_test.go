package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDomainStatusDaysWindow: `domain status --days N` counts only the
// reports of the last N days; the default window is 30 days.
func TestDomainStatusDaysWindow(t *testing.T) {
	h := inboundHarness(t, true)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	dir := t.TempDir()
	var paths []string
	for i, ago := range []int{1, 5, 40} {
		row := aggRow{ip: fmt.Sprintf("192.0.2.%d", i+1), count: 1 << i, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"}
		p := filepath.Join(dir, fmt.Sprintf("r%d.xml", i))
		doc := aggregateXML(true, "r.example", fmt.Sprint("r-", i), "example.org", today.AddDate(0, 0, -ago), row)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if out, err := runCmd(t, h, append([]string{"reports", "import"}, paths...)...); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		want int64
	}{{nil, 3}, {[]string{"--days", "3"}, 1}, {[]string{"--days", "7"}, 3}, {[]string{"--days", "60"}, 7}} {
		out, err := runCmd(t, h, append([]string{"domain", "status", "example.org", "--json"}, c.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Days     int   `json:"days"`
			Messages int64 `json:"messages"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		if st.Messages != c.want {
			t.Errorf("%v: %d messages (days %d), want %d", c.args, st.Messages, st.Days, c.want)
		}
	}
}
