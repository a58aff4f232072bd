package auth

import (
	"strings"
	"testing"
)

// Records as large senders publish them, and the forms RFC 7208 allows:
// none may be refused, or their mail would lose SPF.
var validSPFRecords = []string{
	"v=spf1",
	"v=spf1 -all",
	"v=spf1 include:_spf.google.com ~all",
	"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ~all",
	"v=spf1 ip4:40.92.0.0/15 ip6:2a01:111:f400::/48 include:spfd.protection.outlook.com -all",
	"v=spf1 redirect=_spf.facebook.com",
	"v=spf1 exists:%{i}._spf.mta.salesforce.com -all",
	"v=spf1 include:%{ir}.%{v}.%{d}.spf.has.pphosted.com ~all",
	"v=spf1 exists:%{l1r+-}.%{d} -all",
	"v=spf1 a mx ptr ?all",
	"v=spf1 +a +mx +ip4:192.0.2.1 ~all",
	"v=spf1 a/24 mx/24//64 a//128 -all",
	"v=spf1 a:mail.example.com/24 mx:mail.example.com//64 -all",
	"v=spf1 a:%{d} ptr:%{d} -all",
	"v=spf1 include:spf.example.com. -all",
	"v=spf1 ip6:::1 ip6:::ffff:192.0.2.1 ip6:Cafe:Babe:8000::/33 -all",
	"v=spf1 ip4:1.1.1.1/0 ip4:255.255.255.255/32 ip6:::/0 -all",
	"v=spf1  include:a.example   -all  ",
	"V=SPF1 INCLUDE:A.EXAMPLE -ALL",
	"v=spf1 include:_spf.example.com exp=explain._spf.%{d}",
	"v=spf1 ip4:10.0.0.0/8 ra=postmaster rp=100 rr=all",
	"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
	"v=spf1 a:foo:bar/baz.example.com",
	"v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
	"v=spf1 a:foo.example.xn--zckzah a:x.123-456 -all",
	"v=spf1 a:mail.example...com -all",
	"v=spf1 default=pass",
	"v=spf1 -all ip4:192.0.2.1",
}

func TestSPFSyntaxAcceptsValidRecords(t *testing.T) {
	for _, r := range validSPFRecords {
		if why := spfSyntaxError(r); why != "" {
			t.Errorf("%q refused: %s", r, why)
		}
	}
}

func TestSPFSyntaxRefusesErrors(t *testing.T) {
	for _, tc := range []struct{ record, why string }{
		{"v=spf10", "version"},
		{"spf1 -all", "version"},
		{"v=spf1 ip4:192.0.2.1 -all moo", "bad term"},
		{"v=spf1 include: _spf.google.com ~all", "bad term"},
		{"v=spf1 ip4:192.0.2.1, ip4:192.0.2.2 -all", "bad term"},
		{"v=spf1 include:spf.protection.outlook.com -all;", "bad term"},
		{"v=spf1 ip4:1.2.3.4/33", "bad term"},
		{"v=spf1 ip4:1.2.3.4/032", "bad term"},
		{"v=spf1 ip4:1.2.3.04", "bad term"},
		{"v=spf1 ip4:1.2.3.4//32", "bad term"},
		{"v=spf1 ip4:1.2.3.4:8080", "bad term"},
		{"v=spf1 ip4:1.2.3", "bad term"},
		{"v=spf1 ip4", "bad term"},
		{"v=spf1 ip6:1.2.3.4", "bad term"},
		{"v=spf1 ip6::CAFE::BABE", "bad term"},
		{"v=spf1 ip6:::1/129", "bad term"},
		{"v=spf1 ip6:fe80::1%eth0", "bad term"},
		{"v=spf1 -all ip6", "bad term"},
		{"v=spf1 a//129 -all", "bad term"},
		{"v=spf1 a/24/64 -all", "bad term"},
		{"v=spf1 a:", "bad term"},
		{"v=spf1 a:museum", "bad term"},
		{"v=spf1 a:museum.", "bad term"},
		{"v=spf1 a:abc.123", "bad term"},
		{"v=spf1 a:example.-com", "bad term"},
		{"v=spf1 a:example.com:8080", "bad term"},
		{"v=spf1 a:foo.example.com/33", "bad term"},
		{"v=spf1 ptr/0 -all", "bad term"},
		{"v=spf1 -all.", "bad term"},
		{"v=spf1 -all:foobar", "bad term"},
		{"v=spf1 include +all", "bad term"},
		{"v=spf1 exists", "bad term"},
		{"v=spf1 exists:%(ir).sbl.example.com", "bad term"},
		{"v=spf1 exists:foo%.sbl.example.com", "bad term"},
		{"v=spf1 a:%{a}.example.com", "bad term"},
		{"v=spf1 a:%{c}.example.com", "bad term"},
		{"v=spf1 a:%{d}x", "bad term"},
		{"v=spf1 a:%{d", "bad term"},
		{"v=spf1 a:%{}.example.com", "bad term"},
		{"v=spf1 a:%{d2r+x}.example.com", "bad term"},
		{"v=spf1 ip4:1.2.3.4 redirect:t2.example.com", "bad term"},
		{"v=spf1 1up=foo", "bad term"},
		{"v=spf1 =all", "bad term"},
		{"v=spf1 moo.cow/far_out=man:dog/cat", "bad term"},
		{"v=spf1 redirect=", "redirect"},
		{"v=spf1 redirect=-all ?all", "redirect"},
		{"v=spf1 redirect=a.example redirect=a.example", "redirect= twice"},
		{"v=spf1 exp=a.example -all exp=b.example", "exp= twice"},
		{"v=spf1 -all exp=%{r}.example.com", "exp"},
		{"v=spf1 -all foo=%abc", "macro-string"},
		{"v=spf1 a:\xef\xbb\xbfgarbage.example.net -all", "character"},
		{"v=spf1 a:ctrl.example.com\rptr -all", "character"},
		{"v=spf1\t-all", "character"},
	} {
		why := spfSyntaxError(tc.record)
		if why == "" || !strings.Contains(why, tc.why) {
			t.Errorf("%q: got %q, want an error about %q", tc.record, why, tc.why)
		}
	}
}

func FuzzSPFSyntax(f *testing.F) {
	for _, r := range validSPFRecords {
		f.Add(r)
	}
	f.Add("v=spf1 a:%{d2r+-}.x.example/24//64 exp=%{l}.x ~all")
	f.Fuzz(func(t *testing.T, record string) {
		valid := spfSyntaxError(record) == ""
		for i := 0; i < len(record); i++ {
			if record[i] >= 0x80 {
				return // the case-folding below is for ASCII
			}
		}
		// The grammar is case-insensitive, and terms are separated by one
		// or more spaces.
		for _, variant := range []string{strings.ToUpper(record), strings.ToLower(record), strings.ReplaceAll(record, " ", "  ")} {
			if (spfSyntaxError(variant) == "") != valid {
				t.Fatalf("%q valid=%v, but %q valid=%v", record, valid, variant, !valid)
			}
		}
	})
}

func BenchmarkSPFSyntax(b *testing.B) {
	r := validSPFRecords[3]
	for b.Loop() {
		if spfSyntaxError(r) != "" {
			b.Fatal("refused")
		}
	}
}

// Records near the 64 KiB a TXT record can hold, as a sender could
// publish to make each check costly: each is judged right, and
// BenchmarkSPFSyntaxLong measures the worst (it was quadratic in the
// number of "/" once).
var longSPFRecords = []struct {
	record string
	valid  bool
}{
	{"v=spf1 a:" + strings.Repeat("/x", 30000), false},
	{"v=spf1 a:" + strings.Repeat("%{d}", 15000), true},
	{"v=spf1 " + strings.Repeat("a ", 30000), true},
	{"v=spf1 foo=" + strings.Repeat("%", 60000), true},
	{"v=spf1 a:" + strings.Repeat("%{", 30000), false},
	{"v=spf1 ip6:" + strings.Repeat(":", 60000), false},
}

func TestSPFSyntaxLongRecords(t *testing.T) {
	for _, tc := range longSPFRecords {
		why := spfSyntaxError(tc.record)
		if valid := why == ""; valid != tc.valid {
			t.Errorf("%.40q...: valid %v, want %v", tc.record, valid, tc.valid)
		}
		// The reason goes into log lines and header fields: a term is
		// quoted in part.
		if len(why) > 100 {
			t.Errorf("%.40q...: a reason of %d bytes", tc.record, len(why))
		}
	}
}

func BenchmarkSPFSyntaxLong(b *testing.B) {
	r := longSPFRecords[0].record
	for b.Loop() {
		spfSyntaxError(r)
	}
}
