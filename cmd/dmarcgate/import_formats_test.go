package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportsImportEveryFileKind: `reports import` reads the file kinds
// the contract names (.xml, .xml.gz, .zip, .eml with an aggregate report
// attached, .eml holding a failure report) and keeps each; the volumes
// reach domain status.
func TestReportsImportEveryFileKind(t *testing.T) {
	h := inboundHarness(t, true)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	row := func(ip string, n int) aggRow {
		return aggRow{ip: ip, count: n, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"}
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"a.xml":    []byte(aggregateXML(true, "a.example", "a-1", "example.org", day, row("192.0.2.1", 1))),
		"b.xml.gz": gzipBytes(t, aggregateXML(false, "b.example", "b-1", "example.org", day, row("192.0.2.2", 2))),
		"c.zip":    zipBytes(t, "c.xml", aggregateXML(false, "c.example", "c-1", "example.org", day, row("192.0.2.3", 4))),
		"d.eml": []byte(reportMail("noreply@d.example", reportAddr, "Report Domain: example.org Submitter: d.example Report-ID: <d-1>",
			"application/gzip", "d.example!example.org!1!2.xml.gz", gzipBytes(t, aggregateXML(true, "d.example", "d-1", "example.org", day, row("192.0.2.4", 8))))),
		"e.eml": []byte(failureMail("noreply@e.example", reportAddr, "example.org", "203.0.113.9")),
	}
	var paths []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := runCmd(t, h, append([]string{"reports", "import"}, paths...)...)
	if err != nil || !strings.Contains(out, "kept 5, duplicate 0, foreign domain 0, unreadable 0") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = runCmd(t, h, "domain", "status", "example.org", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct { // the keys CONTRACT.md names
		Messages  int64             `json:"messages"`
		DMARCPass int64             `json:"dmarc_pass"`
		Reporters []json.RawMessage `json:"reporters"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.Messages != 15 || st.DMARCPass != 15 || len(st.Reporters) != 4 {
		t.Errorf("messages %d, pass %d, %d reporters; want 15, 15, 4\n%s", st.Messages, st.DMARCPass, len(st.Reporters), out)
	}
	if fails, err := runCmd(t, h, "domain", "failures", "example.org"); err != nil || !strings.Contains(fails, "203.0.113.9") {
		t.Errorf("domain failures: %v\n%s", err, fails)
	}
}
