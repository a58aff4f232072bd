package config

import (
	"strings"
	"testing"
	"time"
)

func TestInboundReports(t *testing.T) {
	cfg, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.InboundReports
	if !r.Deliver || r.Retention.Duration != 400*24*time.Hour || len(r.Addresses) != 0 ||
		strings.Join(r.Domains, ",") != "example.org" {
		t.Fatalf("defaults: %+v", r)
	}
	cfg, err = Parse([]byte(minimal + `
[inbound_reports]
addresses = ["DMARC@Example.org"]
domains = ["Example.net.", ".example.com"]
deliver = false
retention = "720h"
`))
	if err != nil {
		t.Fatal(err)
	}
	r = cfg.InboundReports
	if r.Deliver || r.Retention.Duration != 720*time.Hour || r.Addresses[0] != "dmarc@example.org" ||
		strings.Join(r.Domains, ",") != "example.net,.example.com" {
		t.Fatalf("set: %+v", r)
	}
	for key, body := range map[string]string{
		"inbound_reports.addresses": `addresses = ["not an address"]`,
		"inbound_reports.domains":   `domains = ["a b"]`,
		"inbound_reports.retention": `retention = "1h"`,
		"inbound_reports.nope":      `nope = 1`,
	} {
		_, err := Parse([]byte(minimal + "[inbound_reports]\n" + body + "\n"))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}
