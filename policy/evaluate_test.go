package policy

import (
	"errors"
	"strings"
	"testing"
)

// testOrgs is the organizational domain function of the evaluator tests:
// a tree walk over a small in-memory zone.
func testOrgs(t testing.TB) func(string) string {
	z := newZone(
		"_dmarc.example.com: v=DMARC1; p=reject",
		"_dmarc.example.net: v=DMARC1; p=none",
		"_dmarc.de: v=DMARC1; p=reject; psd=y",
	)
	return func(d string) string {
		o, err := OrgDomainTreeWalk(d, z.lookup, isNotFound, isTemp)
		if err != nil {
			t.Errorf("org domain of %s: %v", d, err)
		}
		return o
	}
}

func disc(t testing.TB, txt, policyDomain, orgDomain string) *Discovery {
	r, err := ParseRecord(txt)
	if err != nil {
		t.Fatalf("ParseRecord(%q): %v", txt, err)
	}
	return &Discovery{Record: r, PolicyDomain: policyDomain, OrgDomain: orgDomain, Method: MethodTreeWalk}
}

func spfPass(d string) SPFResult   { return SPFResult{Domain: d, Scope: "mfrom", Result: Pass} }
func dkimPass(d string) DKIMResult { return DKIMResult{Domain: d, Selector: "s1", Result: Pass} }

func TestEvaluateAlignment(t *testing.T) {
	const rec = "v=DMARC1; p=reject"
	const strict = "v=DMARC1; p=reject; adkim=s; aspf=s"
	tests := []struct {
		name       string
		record     string
		from       string
		spf        SPFResult
		dkim       []DKIMResult
		spfAl      bool
		dkimAl     bool
		alignedD   string
		wantResult Result
	}{
		{"SPF strict identical (B.1.1 ex 1)", strict, "example.com", spfPass("example.com"), nil, true, false, "", Pass},
		{"SPF strict child fails", strict, "example.com", spfPass("child.example.com"), nil, false, false, "", Fail},
		{"SPF relaxed child (B.1.1 ex 2)", rec, "example.com", spfPass("child.example.com"), nil, true, false, "", Pass},
		{"SPF relaxed sibling subdomains", rec, "news.example.com", spfPass("foo.example.com"), nil, true, false, "", Pass},
		{"SPF unrelated (B.1.1 ex 3)", rec, "child.example.com", spfPass("example.net"), nil, false, false, "", Fail},
		{"SPF softfail never aligns", rec, "example.com",
			SPFResult{Domain: "example.com", Scope: "mfrom", Result: SoftFail}, nil, false, false, "", Fail},
		{"SPF for the null sender uses HELO", rec, "example.com",
			SPFResult{Domain: "mx.example.com", Scope: "helo", Result: Pass}, nil, true, false, "", Pass},
		{"SPF case and trailing dot ignored", strict, "example.com", spfPass("EXAMPLE.COM."), nil, true, false, "", Pass},
		{"SPF empty domain", rec, "example.com", spfPass(""), nil, false, false, "", Fail},
		{"DKIM strict identical (B.1.2 ex 1)", strict, "example.com", SPFResult{}, []DKIMResult{dkimPass("example.com")},
			false, true, "example.com", Pass},
		{"DKIM strict parent fails", strict, "child.example.com", SPFResult{}, []DKIMResult{dkimPass("example.com")},
			false, false, "", Fail},
		{"DKIM relaxed parent (B.1.2 ex 2)", rec, "child.example.com", SPFResult{}, []DKIMResult{dkimPass("example.com")},
			false, true, "example.com", Pass},
		{"DKIM unrelated (B.1.2 ex 3)", rec, "child.example.com", SPFResult{}, []DKIMResult{dkimPass("example.net")},
			false, false, "", Fail},
		{"DKIM failed signature never aligns", rec, "example.com", SPFResult{},
			[]DKIMResult{{Domain: "example.com", Result: Fail}}, false, false, "", Fail},
		{"several DKIM results, second aligned", rec, "example.com", spfPass("example.net"),
			[]DKIMResult{dkimPass("example.net"), {Domain: "example.com", Result: Fail}, dkimPass("mail.example.com"), dkimPass("example.com")},
			false, true, "mail.example.com", Pass},
		{"both aligned", rec, "example.com", spfPass("bounce.example.com"), []DKIMResult{dkimPass("example.com")},
			true, true, "example.com", Pass},
		{"relaxed: PSD is not a shared org domain", rec, "brand.de", spfPass("other.de"), []DKIMResult{dkimPass("de")},
			false, false, "", Fail},
	}
	orgs := testOrgs(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(Input{
				FromDomain: tt.from, OrgDomain: orgs,
				Discovery: disc(t, tt.record, tt.from, orgs(tt.from)),
				SPF:       tt.spf, DKIM: tt.dkim,
			})
			if d.Result != tt.wantResult || d.SPFAligned != tt.spfAl || d.DKIMAligned != tt.dkimAl || d.AlignedDKIMDomain != tt.alignedD {
				t.Errorf("got result %s spf %v dkim %v (%q); want %s %v %v (%q)", d.Result, d.SPFAligned, d.DKIMAligned,
					d.AlignedDKIMDomain, tt.wantResult, tt.spfAl, tt.dkimAl, tt.alignedD)
			}
			if d.Result == Pass && d.Disposition != ActionNone {
				t.Errorf("pass must give disposition none, got %s", d.Disposition)
			}
			if d.PolicyInForce != ActionReject {
				t.Errorf("policy in force %s, want reject", d.PolicyInForce)
			}
		})
	}
}

func TestEvaluateRelaxedWithoutOrgFunc(t *testing.T) {
	in := Input{FromDomain: "a.example.com", Discovery: disc(t, "v=DMARC1; p=reject", "example.com", "example.com"),
		SPF: spfPass("bounce.example.com")}
	if d := Evaluate(in); d.Result != Pass || !d.SPFAligned {
		t.Errorf("relaxed alignment under the org domain should pass without OrgDomain: %+v", d)
	}
	in.SPF = spfPass("example.com.evil.net")
	if d := Evaluate(in); d.Result != Fail {
		t.Errorf("a look-alike suffix must not align: %+v", d)
	}
}

func TestEvaluatePolicySelection(t *testing.T) {
	tests := []struct {
		name, record, from, policyDom string
		nx                            bool
		want                          Action
	}{
		{"p for the policy domain", "v=DMARC1; p=reject; sp=none; np=quarantine", "example.com", "example.com", false, ActionReject},
		{"p even when the policy domain does not exist", "v=DMARC1; p=reject; np=none", "example.com", "example.com", true, ActionReject},
		{"sp for an existing subdomain", "v=DMARC1; p=reject; sp=quarantine; np=none", "a.example.com", "example.com", false, ActionQuarantine},
		{"np for a non-existent subdomain", "v=DMARC1; p=none; sp=none; np=reject", "a.example.com", "example.com", true, ActionReject},
		{"np absent inherits sp", "v=DMARC1; p=none; sp=quarantine", "a.example.com", "example.com", true, ActionQuarantine},
		{"np and sp absent inherit p", "v=DMARC1; p=reject", "a.b.example.com", "example.com", true, ActionReject},
		{"sp absent inherits p", "v=DMARC1; p=quarantine; np=reject", "a.example.com", "example.com", false, ActionQuarantine},
		{"PSD record: org domain is a subdomain of the PSD", "v=DMARC1; p=none; sp=quarantine; np=reject; psd=y", "brand.de", "de", false, ActionQuarantine},
		{"PSD record: non-existent org domain", "v=DMARC1; p=none; sp=quarantine; np=reject; psd=y", "brand.de", "de", true, ActionReject},
		{"p=none fallback of an invalid sp", "v=DMARC1; p=reject; sp=bogus; rua=mailto:a@example.com", "a.example.com", "example.com", false, ActionNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(Input{FromDomain: tt.from, Discovery: disc(t, tt.record, tt.policyDom, tt.from),
				FromNonExistent: tt.nx, SPF: spfPass("unrelated.example.net")})
			if d.Result != Fail || d.PolicyInForce != tt.want || d.Disposition != tt.want || len(d.Reasons) != 0 {
				t.Errorf("got %s policy %s disposition %s reasons %v; want fail %s", d.Result, d.PolicyInForce, d.Disposition, d.Reasons, tt.want)
			}
		})
	}
}

func TestEvaluateDisposition(t *testing.T) {
	fwd := &Override{Action: ActionNone, Reason: "forwarded", Comment: "known forwarder"}
	tests := []struct {
		name        string
		record      string
		pass        bool
		legacy      string
		roll        int
		override    *Override
		monitor     bool
		policy      Action
		disposition Action
		reasons     []ReasonType
	}{
		{"reject", "v=DMARC1; p=reject", false, "", 0, nil, false, ActionReject, ActionReject, nil},
		{"pass gives none", "v=DMARC1; p=reject", true, "", 0, nil, false, ActionReject, ActionNone, nil},
		{"t=y lowers reject", "v=DMARC1; p=reject; t=y", false, "", 0, nil, false, ActionReject, ActionQuarantine, []ReasonType{ReasonPolicyTestMode}},
		{"t=y lowers quarantine", "v=DMARC1; p=quarantine; t=y", false, "", 0, nil, false, ActionQuarantine, ActionNone, []ReasonType{ReasonPolicyTestMode}},
		{"t=y has no effect on none", "v=DMARC1; p=none; t=y", false, "", 0, nil, false, ActionNone, ActionNone, nil},
		{"t=y and pct=0 lower once", "v=DMARC1; p=reject; t=y; pct=0", false, "testing", 0, nil, false, ActionReject, ActionQuarantine, []ReasonType{ReasonPolicyTestMode}},
		{"testing: pct=0 acts as t=y", "v=DMARC1; p=reject; pct=0", false, "testing", 0, nil, false, ActionReject, ActionQuarantine, []ReasonType{ReasonPolicyTestMode}},
		{"testing is the default", "v=DMARC1; p=quarantine; pct=0", false, "", 0, nil, false, ActionQuarantine, ActionNone, []ReasonType{ReasonPolicyTestMode}},
		{"testing: other pct ignored", "v=DMARC1; p=reject; pct=10", false, "testing", 99, nil, false, ActionReject, ActionReject, nil},
		{"sample: roll below pct applies", "v=DMARC1; p=reject; pct=50", false, "sample", 49, nil, false, ActionReject, ActionReject, nil},
		{"sample: roll at pct sampled out", "v=DMARC1; p=reject; pct=50", false, "sample", 50, nil, false, ActionReject, ActionQuarantine, []ReasonType{ReasonSampledOut}},
		{"sample: quarantine sampled out", "v=DMARC1; p=quarantine; pct=20", false, "sample", 70, nil, false, ActionQuarantine, ActionNone, []ReasonType{ReasonSampledOut}},
		{"sample: pct=0 always out", "v=DMARC1; p=reject; pct=0", false, "sample", 0, nil, false, ActionReject, ActionQuarantine, []ReasonType{ReasonSampledOut}},
		{"sample: pct=100 always applies", "v=DMARC1; p=reject; pct=100", false, "sample", 99, nil, false, ActionReject, ActionReject, nil},
		{"sample: no pct applies", "v=DMARC1; p=reject", false, "sample", 99, nil, false, ActionReject, ActionReject, nil},
		{"override forwarded", "v=DMARC1; p=reject", false, "", 0, fwd, false, ActionReject, ActionNone, []ReasonType{ReasonForwarded}},
		{"override to quarantine, unknown reason", "v=DMARC1; p=reject", false, "", 0,
			&Override{Action: ActionQuarantine, Reason: "vip"}, false, ActionReject, ActionQuarantine, []ReasonType{ReasonOther}},
		{"override ignored on pass", "v=DMARC1; p=reject", true, "", 0, fwd, false, ActionReject, ActionNone, nil},
		{"monitor keeps the policy, disposition none", "v=DMARC1; p=reject", false, "", 0, nil, true, ActionReject, ActionNone, []ReasonType{ReasonLocalPolicy}},
		{"monitor after t=y", "v=DMARC1; p=reject; t=y", false, "", 0, nil, true, ActionReject, ActionNone, []ReasonType{ReasonPolicyTestMode, ReasonLocalPolicy}},
		{"monitor on pass adds nothing", "v=DMARC1; p=reject", true, "", 0, nil, true, ActionReject, ActionNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{FromDomain: "example.com", Discovery: disc(t, tt.record, "example.com", "example.com"),
				SPF: spfPass("example.net"), LegacyPct: tt.legacy, SampleRoll: tt.roll, Override: tt.override, Monitor: tt.monitor}
			if tt.pass {
				in.DKIM = []DKIMResult{dkimPass("example.com")}
			}
			d := Evaluate(in)
			var got []ReasonType
			for _, r := range d.Reasons {
				got = append(got, r.Type)
			}
			if d.PolicyInForce != tt.policy || d.Disposition != tt.disposition || !equalReasons(got, tt.reasons) {
				t.Errorf("got policy %s disposition %s reasons %v; want %s %s %v", d.PolicyInForce, d.Disposition, got, tt.policy, tt.disposition, tt.reasons)
			}
			if d.Why == "" || strings.ContainsAny(d.Why, "\r\n") {
				t.Errorf("Why should be one line: %q", d.Why)
			}
		})
	}
}

func equalReasons(a, b []ReasonType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEvaluateNoPolicy(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Result
	}{
		{"no discovery, no error", nil, None},
		{"no record", ErrNoRecord, None},
		{"several records", errMultiple, None},
		{"temporary", lookupFailed("example.com", &tempError{"x"}, isTemp), TempError},
		{"invalid record", (&walker{skipped: invalid("bad p")}).noRecord(), PermError},
		{"permanent DNS failure", lookupFailed("example.com", errors.New("FORMERR"), isTemp), PermError},
		{"invalid domain", ErrInvalidDomain, PermError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(Input{FromDomain: "example.com", PolicyErr: tt.err, SPF: spfPass("example.com"),
				Override: &Override{Action: ActionReject}, Monitor: true})
			if d.Result != tt.want || d.Disposition != ActionNone || d.PolicyInForce != ActionNone || len(d.Reasons) != 0 {
				t.Errorf("got %+v, want result %s with disposition none", d, tt.want)
			}
			if !strings.Contains(d.Why, "example.com") {
				t.Errorf("Why %q should name the From domain", d.Why)
			}
		})
	}
	// An error wins over a discovery handed in with it.
	d := Evaluate(Input{FromDomain: "example.com", Discovery: disc(t, "v=DMARC1; p=reject", "example.com", "example.com"),
		PolicyErr: lookupFailed("example.com", &tempError{"x"}, isTemp)})
	if d.Result != TempError {
		t.Errorf("got %s, want temperror", d.Result)
	}
}

func TestEvaluateWhy(t *testing.T) {
	in := Input{FromDomain: "example.com", Discovery: disc(t, "v=DMARC1; p=reject", "example.com", "example.com")}
	if got, want := Evaluate(in).Why, "DMARC policy of example.com is reject; SPF and DKIM not aligned"; got != want {
		t.Errorf("Why = %q, want %q", got, want)
	}
	in.Monitor = true
	if got := Evaluate(in).Why; !strings.HasSuffix(got, "; disposition none (monitor mode)") {
		t.Errorf("monitor Why = %q", got)
	}
	in.DKIM = []DKIMResult{dkimPass("example.com")}
	if got, want := Evaluate(in).Why, "DMARC pass for example.com: DKIM aligned (d=example.com)"; got != want {
		t.Errorf("pass Why = %q, want %q", got, want)
	}
}

// Evaluate runs once per message before the reply to DATA: keep it cheap.
func TestEvaluateAllocations(t *testing.T) {
	in := benchInput(t)
	if n := testing.AllocsPerRun(100, func() { Evaluate(in) }); n > 2 {
		t.Errorf("Evaluate allocates %.0f times per call, want at most 2", n)
	}
}

func benchInput(t testing.TB) Input {
	orgs := map[string]string{"example.com": "example.com", "bounce.example.com": "example.com", "example.net": "example.net"}
	return Input{
		FromDomain: "example.com",
		OrgDomain:  func(d string) string { return orgs[d] },
		Discovery:  disc(t, "v=DMARC1; p=reject; t=y; rua=mailto:d@example.com", "example.com", "example.com"),
		SPF:        SPFResult{Domain: "bounce.example.com", Scope: "mfrom", Result: Fail},
		DKIM:       []DKIMResult{dkimPass("example.net"), {Domain: "example.com", Result: Fail}},
	}
}

func BenchmarkEvaluate(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
}

func BenchmarkParseRecord(b *testing.B) {
	const txt = "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:agg@example.com,mailto:x@example.net!10m; fo=1:d"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRecord(txt); err != nil {
			b.Fatal(err)
		}
	}
}
