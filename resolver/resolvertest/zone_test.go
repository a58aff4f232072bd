package resolvertest

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseZoneFile(t *testing.T) {
	text := `$TTL 300
@        IN SOA ns h 1 3600 600 86400 60
@        IN TXT "v=spf1 " "-all"
_dmarc   IN TXT "v=DMARC1; p=reject"
WWW  120 IN A 192.0.2.1
`
	zone, err := ParseZoneFile(text, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(zone["example.org."]) != 2 || len(zone["_dmarc.example.org."]) != 1 || len(zone["www.example.org."]) != 1 {
		t.Fatalf("zone = %v", zone)
	}
	srv := Start(t, zone)
	resp := ask(t, srv, "udp", "www.example.org", dns.TypeA)
	if len(resp.Answer) != 1 || resp.Answer[0].Header().Ttl != 120 {
		t.Fatalf("answer = %v", resp.Answer)
	}
	resp = ask(t, srv, "udp", "nope.example.org", dns.TypeA)
	if soa, ok := resp.Ns[0].(*dns.SOA); !ok || soa.Minttl != 60 {
		t.Errorf("negative answer authority = %v, want the zone's SOA", resp.Ns)
	}
}

func TestParseZoneFileErrors(t *testing.T) {
	for _, text := range []string{
		"example.org. IN A not-an-ip",
		"example.org. IN BOGUSTYPE x",
		`$INCLUDE /etc/passwd`,
		`example.org. IN TXT "unterminated`,
	} {
		if _, err := ParseZoneFile(text, "example.org."); err == nil {
			t.Errorf("ParseZoneFile(%q) succeeded", text)
		}
	}
}

func TestParseRR(t *testing.T) {
	tests := []struct {
		text, origin, owner string
		ok                  bool
	}{
		{"@ 60 IN A 192.0.2.1", "Example.ORG", "example.org.", true},
		{"www 60 IN A 192.0.2.1", "example.org.", "www.example.org.", true},
		{"a.test. A 192.0.2.1", ".", "a.test.", true},
		{"a.test. CH TXT \"x\"", ".", "", false},
		{"a.test. A 192.0.2.1\nb.test. A 192.0.2.2", ".", "", false},
		{"", ".", "", false},
		{"; only a comment", ".", "", false},
	}
	for _, tc := range tests {
		rr, err := parseRR(tc.text, tc.origin)
		if (err == nil) != tc.ok {
			t.Errorf("parseRR(%q): err = %v, want ok %v", tc.text, err, tc.ok)
			continue
		}
		if tc.ok && rr.Header().Name != tc.owner {
			t.Errorf("parseRR(%q) owner = %q, want %q", tc.text, rr.Header().Name, tc.owner)
		}
	}
}

func FuzzParseZoneFile(f *testing.F) {
	f.Add("@ IN TXT \"v=spf1 -all\"\n", "example.org.")
	f.Add("$TTL 60\nwww IN A 192.0.2.1\n", "example.org")
	f.Add("$GENERATE 1-3 h$ A 192.0.2.$\n", "x.test.")
	f.Add("(\n", ".")
	f.Fuzz(func(t *testing.T, text, origin string) {
		if strings.Contains(text, "$INCLUDE") {
			return
		}
		zone, err := ParseZoneFile(text, origin)
		if err != nil {
			return
		}
		for owner, rrs := range zone {
			if owner != dns.CanonicalName(owner) {
				t.Fatalf("owner %q not canonical", owner)
			}
			for _, rr := range rrs {
				if _, err := dns.NewRR(rr); err != nil {
					t.Fatalf("record %q does not parse back: %v", rr, err)
				}
			}
		}
	})
}
