package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRecordTags(t *testing.T) {
	tests := []struct {
		name string
		txt  string
		want Record // Raw is filled in by the test
	}{
		{"minimal", "v=DMARC1; p=none",
			Record{P: ActionNone, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"every tag", "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=n; t=y; adkim=s; aspf=s; " +
			"rua=mailto:agg@example.com; ruf=mailto:fail@example.com; fo=1:d:s; pct=50; rf=afrf; ri=3600",
			Record{P: ActionReject, SP: ActionQuarantine, NP: ActionReject, PSD: 'n', T: true,
				ADKIM: Strict, ASPF: Strict,
				RUA: []URI{{Raw: "mailto:agg@example.com", Scheme: "mailto", Address: "agg@example.com"}},
				RUF: []URI{{Raw: "mailto:fail@example.com", Scheme: "mailto", Address: "fail@example.com"}},
				FO:  []string{"1", "d", "s"}, Pct: 50, HasPct: true}},
		{"case-insensitive names and values", "V=DMARC1; P=Reject; SP=NONE; ADKIM=S; PSD=Y; T=Y",
			Record{P: ActionReject, SP: ActionNone, PSD: 'y', T: true, ADKIM: Strict, ASPF: Relaxed, FO: []string{"0"}}},
		{"whitespace everywhere", " v = DMARC1 ;\tp = quarantine ; aspf =s ; ",
			Record{P: ActionQuarantine, PSD: 'u', ADKIM: Relaxed, ASPF: Strict, FO: []string{"0"}}},
		{"tags in any order after v", "v=DMARC1; adkim=s; p=reject",
			Record{P: ActionReject, PSD: 'u', ADKIM: Strict, ASPF: Relaxed, FO: []string{"0"}}},
		{"empty segments tolerated", "v=DMARC1;;p=none;;",
			Record{P: ActionNone, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"unknown tags ignored", "v=DMARC1; p=none; foo=bar; x=; 9z=1; novalue",
			Record{P: ActionNone, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"invalid psd t adkim aspf give defaults", "v=DMARC1; p=none; psd=x; t=maybe; adkim=x; aspf=",
			Record{P: ActionNone, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"t=n", "v=DMARC1; p=reject; t=n",
			Record{P: ActionReject, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"fo unknown values ignored, duplicates once", "v=DMARC1; p=none; fo=x:d:D:1",
			Record{P: ActionNone, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"d", "1"}}},
		{"fo all unknown gives default", "v=DMARC1; p=none; fo=zz",
			Record{P: ActionNone, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"pct 0", "v=DMARC1; p=reject; pct=0",
			Record{P: ActionReject, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}, HasPct: true}},
		{"pct 100", "v=DMARC1; p=reject; pct=100",
			Record{P: ActionReject, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}, Pct: 100, HasPct: true}},
		{"pct out of range ignored", "v=DMARC1; p=reject; pct=101",
			Record{P: ActionReject, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"pct negative ignored", "v=DMARC1; p=reject; pct=-1",
			Record{P: ActionReject, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"pct not a number ignored", "v=DMARC1; p=reject; pct=5O",
			Record{P: ActionReject, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"}}},
		{"missing p with rua acts as none", "v=DMARC1; rua=mailto:d@example.com",
			Record{P: ActionNone, PolicyFallback: true, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"},
				RUA: []URI{{Raw: "mailto:d@example.com", Scheme: "mailto", Address: "d@example.com"}}}},
		{"invalid p with rua acts as none", "v=DMARC1; p=bogus; sp=reject; rua=mailto:d@example.com",
			Record{P: ActionNone, PolicyFallback: true, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"},
				RUA: []URI{{Raw: "mailto:d@example.com", Scheme: "mailto", Address: "d@example.com"}}}},
		{"invalid sp with rua acts as p=none", "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com",
			Record{P: ActionNone, PolicyFallback: true, PSD: 'u', ADKIM: Relaxed, ASPF: Relaxed, FO: []string{"0"},
				RUA: []URI{{Raw: "mailto:d@example.com", Scheme: "mailto", Address: "d@example.com"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord(tt.txt)
			if err != nil {
				t.Fatalf("ParseRecord(%q): %v", tt.txt, err)
			}
			tt.want.Raw = tt.txt
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseRecord(%q)\n got %+v\nwant %+v", tt.txt, *got, tt.want)
			}
		})
	}
}

func TestParseRecordInvalid(t *testing.T) {
	tests := []struct{ name, txt string }{
		{"empty", ""},
		{"not dmarc", "v=spf1 -all"},
		{"version lower case", "v=dmarc1; p=none"},
		{"version wrong", "v=DMARC2; p=none"},
		{"version suffix", "v=DMARC10; p=none"},
		{"v not first", "p=none; v=DMARC1"},
		{"v missing", "p=reject; rua=mailto:a@example.com"},
		{"no p no rua", "v=DMARC1"},
		{"invalid p no rua", "v=DMARC1; p=bogus"},
		{"empty p no rua", "v=DMARC1; p="},
		{"invalid np no rua", "v=DMARC1; p=reject; np=always"},
		{"p with rua of no valid URI", "v=DMARC1; p=x; rua=not a uri"},
		{"duplicate p", "v=DMARC1; p=none; p=reject"},
		{"duplicate v", "v=DMARC1; v=DMARC1; p=none"},
		{"duplicate tag differing in case", "v=DMARC1; p=none; RUA=mailto:a@example.com; rua=mailto:b@example.com"},
		{"duplicate unknown tag", "v=DMARC1; p=none; zz=1; zz=2"},
		{"non-ASCII p value", "v=DMARC1; p=r\u00e9ject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(tt.txt)
			if !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("ParseRecord(%q) = %+v, %v; want ErrInvalidRecord", tt.txt, r, err)
			}
		})
	}
}

// The records published in RFC 9989 Appendix B.2 (TXT strings joined).
func TestParseRecordRFCExamples(t *testing.T) {
	tests := []struct {
		txt      string
		p        Action
		t        bool
		rua, ruf []string
	}{
		{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", ActionNone, false,
			[]string{"dmarc-feedback@example.com"}, nil},
		{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@example.com",
			ActionNone, false, []string{"dmarc-feedback@example.com"}, []string{"auth-reports@example.com"}},
		{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net",
			ActionNone, false, []string{"dmarc-feedback@example.com"}, []string{"auth-reports@thirdparty.example.net"}},
		{"v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net; t=y",
			ActionQuarantine, true, []string{"dmarc-feedback@example.com", "tld-test@thirdparty.example.net"}, nil},
		{"v=DMARC1; p=reject; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net",
			ActionReject, false, []string{"dmarc-feedback@example.com", "tld-test@thirdparty.example.net"}, nil},
		{"v=DMARC1; p=reject; aspf=r;\n rua=mailto:dmarc-feedback@example.com", ActionReject, false,
			[]string{"dmarc-feedback@example.com"}, nil},
	}
	for _, tt := range tests {
		r, err := ParseRecord(tt.txt)
		if err != nil {
			t.Fatalf("ParseRecord(%q): %v", tt.txt, err)
		}
		if r.P != tt.p || r.T != tt.t || !reflect.DeepEqual(addresses(r.RUA), tt.rua) || !reflect.DeepEqual(addresses(r.RUF), tt.ruf) {
			t.Errorf("ParseRecord(%q) = p=%s t=%v rua=%v ruf=%v", tt.txt, r.P, r.T, addresses(r.RUA), addresses(r.RUF))
		}
	}
	// The third-party authorization record of §B.2.3 is a DMARC record but
	// carries no policy: it is not usable as a policy record.
	if _, err := ParseRecord("v=DMARC1;"); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf(`ParseRecord("v=DMARC1;") err = %v, want ErrInvalidRecord`, err)
	}
}

func addresses(us []URI) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Address)
	}
	return out
}

func TestParseURIList(t *testing.T) {
	tests := []struct {
		in   string
		want []URI
	}{
		{"mailto:a@example.com", []URI{{"mailto:a@example.com", "mailto", "a@example.com"}}},
		{"mailto:a@example.com!10m", []URI{{"mailto:a@example.com!10m", "mailto", "a@example.com"}}},
		{"mailto:a@example.com!50", []URI{{"mailto:a@example.com!50", "mailto", "a@example.com"}}},
		{"MAILTO:a@example.com", []URI{{"MAILTO:a@example.com", "mailto", "a@example.com"}}},
		{"mailto:dmarc%2Brua@example.com", []URI{{"mailto:dmarc%2Brua@example.com", "mailto", "dmarc+rua@example.com"}}},
		{"mailto:a%21b@example.com", []URI{{"mailto:a%21b@example.com", "mailto", "a!b@example.com"}}},
		{"mailto:a@example.com?subject=x", []URI{{"mailto:a@example.com?subject=x", "mailto", "a@example.com"}}},
		{" mailto:a@example.com , mailto:b@example.org ", []URI{
			{"mailto:a@example.com", "mailto", "a@example.com"}, {"mailto:b@example.org", "mailto", "b@example.org"}}},
		{"https://reports.example.com/dmarc", []URI{{"https://reports.example.com/dmarc", "https", ""}}},
		{"mailto:a@example.com,bogus,mailto:", []URI{{"mailto:a@example.com", "mailto", "a@example.com"}}},
		{"mailto:a@example.com!x", nil},
		{"mailto:a@example.com!", nil},
		{"mailto:a@", nil},
		{"mailto:@example.com", nil},
		{"mailto:a%ZZ@example.com", nil},
		{"mailto:a b@example.com", nil},
		{"a@example.com", nil},
		{"1mailto:a@example.com", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := parseURIList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseURIList(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestSelectRecord(t *testing.T) {
	tests := []struct {
		name string
		txts []string
		p    Action
		err  error
	}{
		{"none", nil, "", ErrNoRecord},
		{"only other TXT", []string{"v=spf1 -all", "google-site-verification=x"}, "", ErrNoRecord},
		{"one among others", []string{"v=spf1 -all", "v=DMARC1; p=reject"}, ActionReject, nil},
		{"two DMARC records", []string{"v=DMARC1; p=reject", "v=DMARC1; p=none"}, "", ErrMultiple},
		{"two, one invalid, still multiple", []string{"v=DMARC1; p=reject", "v=DMARC1"}, "", ErrMultiple},
		{"lower-case version is not DMARC", []string{"v=dmarc1; p=none", "v=DMARC1; p=quarantine"}, ActionQuarantine, nil},
		{"single unusable", []string{"v=DMARC1; p=nonsense"}, "", ErrInvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := SelectRecord(tt.txts)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || r.P != tt.p {
				t.Fatalf("SelectRecord = %+v, %v; want p=%s", r, err, tt.p)
			}
		})
	}
	if _, err := SelectRecord([]string{"v=DMARC1; p=none", "v=DMARC1; p=none"}); !errors.Is(err, ErrNoRecord) {
		t.Errorf("ErrMultiple should also read as ErrNoRecord, got %v", err)
	}
}

func TestFOHasAndPolicyFor(t *testing.T) {
	r, err := ParseRecord("v=DMARC1; p=reject; sp=quarantine; np=none; fo=d:s")
	if err != nil {
		t.Fatal(err)
	}
	if !r.FOHas("d") || !r.FOHas("S") || r.FOHas("0") || r.FOHas("1") {
		t.Errorf("FOHas wrong for fo=%v", r.FO)
	}
	if d, _ := ParseRecord("v=DMARC1; p=none"); !d.FOHas("0") || d.FOHas("1") {
		t.Errorf("default fo should be 0, got %v", d.FO)
	}
	cases := []struct {
		from string
		nx   bool
		want Action
		tag  string
	}{
		{"example.com", false, ActionReject, "p"},
		{"EXAMPLE.com.", true, ActionReject, "p"}, // np never applies to the policy domain itself
		{"a.example.com", false, ActionQuarantine, "sp"},
		{"a.example.com", true, ActionNone, "np"},
	}
	for _, c := range cases {
		if got := r.PolicyFor(c.from, "example.com", c.nx); got != c.want {
			t.Errorf("PolicyFor(%s, nx=%v) = %s, want %s", c.from, c.nx, got, c.want)
		}
		if got := r.PolicyTag(c.from, "example.com", c.nx); got != c.tag {
			t.Errorf("PolicyTag(%s, nx=%v) = %s, want %s", c.from, c.nx, got, c.tag)
		}
	}
	inherit, _ := ParseRecord("v=DMARC1; p=reject; sp=quarantine")
	if got := inherit.PolicyFor("x.example.com", "example.com", true); got != ActionQuarantine {
		t.Errorf("np absent should inherit sp, got %s", got)
	}
	onlyP, _ := ParseRecord("v=DMARC1; p=quarantine")
	if got := onlyP.PolicyFor("x.example.com", "example.com", true); got != ActionQuarantine {
		t.Errorf("np and sp absent should inherit p, got %s", got)
	}
	for in, want := range map[Action]Action{ActionReject: ActionQuarantine, ActionQuarantine: ActionNone, ActionNone: ActionNone} {
		if got := NextLower(in); got != want {
			t.Errorf("NextLower(%s) = %s, want %s", in, got, want)
		}
	}
}

// A hostile record with thousands of tags parses in linear time.
func TestParseRecordManyTags(t *testing.T) {
	var b strings.Builder
	b.WriteString("v=DMARC1; p=reject")
	for i := 0; i < 20000; i++ {
		b.WriteString("; x")
		for n := i; n > 0; n /= 26 {
			b.WriteByte(byte('a' + n%26))
		}
		b.WriteString("=1")
	}
	r, err := ParseRecord(b.String())
	if err != nil || r.P != ActionReject {
		t.Fatalf("ParseRecord of %d bytes: %v", b.Len(), err)
	}
	if _, err := ParseRecord(b.String() + "; xb=2"); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("a duplicate among many tags must be found, got %v", err)
	}
}
