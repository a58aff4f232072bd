package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsoleShowsReportsAndDomains: an aggregate report sent by
// `reports send` appears on Reports sent with its status and destination,
// and an imported report about our own domain on Domains.
func TestConsoleShowsReportsAndDomains(t *testing.T) {
	h, base := consoleHarness(t)
	if err := h.send("ceo@good.example", []string{"bob@example.org"}, message("ceo@good.example", "counted")); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, h, "reports", "send"); err != nil {
		t.Fatalf("reports send: %v\n%s", err, out)
	}
	importOwnReport(t, h)
	cc := newConsoleClient(t, base)
	cc.login()
	code, body := cc.do(http.MethodGet, "/reports", nil)
	if code != http.StatusOK || !strings.Contains(body, "good.example") || !strings.Contains(body, `s-sent">sent<`) ||
		!strings.Contains(body, "agg@good.example: queued") {
		t.Errorf("Reports sent: %d\n%s", code, body)
	}
	_, body = cc.do(http.MethodGet, "/", nil)
	if !strings.Contains(body, `aggregate reports sent</dt><dd><a href="/reports">1</a>`) {
		t.Errorf("Overview does not count the sent report:\n%s", body)
	}
	code, body = cc.do(http.MethodGet, "/domains", nil)
	if code != http.StatusOK || !strings.Contains(body, `href="/domains/example.org"`) {
		t.Fatalf("Domains: %d\n%s", code, body)
	}
	code, body = cc.do(http.MethodGet, "/domains/example.org?days=7", nil)
	if code != http.StatusOK || !strings.Contains(body, "192.0.2.10") || !strings.Contains(body, "google.com") ||
		!strings.Contains(body, `class="badge v-`) || !strings.Contains(body, "500 messages, 100.0% passed DMARC") {
		t.Errorf("the domain's status: %d\n%s", code, body)
	}
	if code, _ := cc.do(http.MethodGet, "/domains/not-ours.example", nil); code != http.StatusNotFound {
		t.Errorf("a domain not ours: %d", code)
	}
}

// importOwnReport files one aggregate report about example.org, from
// google.com, for today: 500 messages from 192.0.2.10, all passing.
func importOwnReport(t *testing.T, h *harness) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "google.xml")
	own := aggRow{ip: "192.0.2.10", count: 500, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"}
	if err := os.WriteFile(file, []byte(aggregateXML(true, "google.com", "r-1", "example.org", time.Now().UTC().Truncate(24*time.Hour), own)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, h, "reports", "import", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}
