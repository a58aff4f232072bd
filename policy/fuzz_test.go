package policy

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com",
		"v=DMARC1; p=reject; sp=quarantine; np=reject; psd=n; t=y; adkim=s; aspf=s; fo=1:d:s; pct=50",
		"v=DMARC1; rua=mailto:a@example.com!10m,https://r.example/x",
		"v=DMARC1; p=bogus; sp=; ruf=mailto:%41@example.com",
		"V = DMARC1 ;p=Quarantine;;",
		"v=DMARC1; p=none; p=none",
		"v=spf1 -all",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := ParseRecord(txt)
		if err != nil {
			if r != nil || !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("ParseRecord(%q) = %v, %v", txt, r, err)
			}
			return
		}
		if !IsDMARCRecord(txt) || r.Raw != txt {
			t.Fatalf("accepted a record without v=DMARC1 first: %q", txt)
		}
		if validAction(r.P) != r.P && r.P != ActionNone || r.P == "" {
			t.Fatalf("bad p %q", r.P)
		}
		for _, a := range []Action{r.SP, r.NP} {
			if a != "" && validAction(a) != a && a != ActionNone {
				t.Fatalf("bad sp/np %q", a)
			}
		}
		if !strings.ContainsRune("ynu", rune(r.PSD)) || r.PSD == 0 || (r.ADKIM != Relaxed && r.ADKIM != Strict) || (r.ASPF != Relaxed && r.ASPF != Strict) {
			t.Fatalf("bad psd/adkim/aspf: %+v", r)
		}
		if len(r.FO) == 0 || r.Pct < 0 || r.Pct > 100 || (!r.HasPct && r.Pct != 0) {
			t.Fatalf("bad fo/pct: %+v", r)
		}
		for _, u := range append(append([]URI(nil), r.RUA...), r.RUF...) {
			if u.Scheme == "" || (u.Scheme == "mailto") != (u.Address != "") {
				t.Fatalf("bad URI %+v", u)
			}
		}
		if r.PolicyFallback && (r.P != ActionNone || len(r.RUA) == 0) {
			t.Fatalf("fallback record must be p=none with rua: %+v", r)
		}
	})
}

// fuzzZone builds a zone around a From domain from lines "K:record"
// (a record at the name of the right-most K labels) or "K!" (a temporary
// failure there), so the fuzzer reaches names that the walk queries.
func fuzzZone(from, spec string) *zone {
	z := newZone()
	lines := strings.Split(spec, "\n")
	for _, l := range lines[:min(len(lines), 64)] {
		if len(l) < 2 || l[0] < '0' || l[0] > '9' {
			continue
		}
		name := "_dmarc." + lastLabels(from, int(l[0]-'0'))
		switch l[1] {
		case ':':
			z.txt[name] = append(z.txt[name], l[2:])
		case '!':
			z.errs[name] = &tempError{name}
		}
	}
	return z
}

func FuzzDiscover(f *testing.F) {
	f.Add("a.mail.example.com", "2:v=DMARC1; p=reject\n3:v=DMARC1; p=none")
	f.Add("giant.bank.example", "3:v=DMARC1; p=quarantine\n2:v=DMARC1; p=reject; psd=y")
	f.Add("a.b.c.d.e.f.g.h.i.j.k.example.com", "2:v=DMARC1; p=reject\n1!")
	f.Add("x.y.example.co.uk", "3:v=DMARC1; p=none; psd=n\n3:v=DMARC1; p=none")
	f.Add("Sub.Example.COM.", "2:v=DMARC1; p=x\n1:v=DMARC1; p=reject; psd=y")
	f.Add("a..b", "")
	f.Fuzz(func(t *testing.T, from, spec string) {
		norm, nerr := normalizeDomain(from)
		z := fuzzZone(norm, spec)
		d, err := z.discover(from)
		if len(z.queries) > MaxTreeWalkQueries {
			t.Fatalf("%d queries for %q", len(z.queries), from)
		}
		switch {
		case nerr != nil:
			if !errors.Is(err, ErrInvalidDomain) || len(z.queries) != 0 {
				t.Fatalf("invalid name %q: %v after %d queries", from, err, len(z.queries))
			}
			return
		case err != nil:
			if d != nil || !(errors.Is(err, ErrNoRecord) || errors.Is(err, ErrTemporary)) {
				t.Fatalf("Discover(%q) = %+v, %v", from, d, err)
			}
		default:
			if d.Record == nil || d.Queries != len(z.queries) || !isSubdomainOrSelf(norm, d.PolicyDomain) || !isSubdomainOrSelf(norm, d.OrgDomain) {
				t.Fatalf("Discover(%q) = %+v after %v", from, d, z.queries)
			}
		}
		z.queries = nil
		if org, err := z.org(from); len(z.queries) > MaxTreeWalkQueries || (err == nil && !isSubdomainOrSelf(norm, org)) {
			t.Fatalf("OrgDomainTreeWalk(%q) = %q, %v after %d queries", from, org, err, len(z.queries))
		}
		z.queries = nil
		if _, err := DiscoverPSL(from, z.lookup, isNotFound, isTemp); len(z.queries) > 2 {
			t.Fatalf("DiscoverPSL(%q): %d queries, %v", from, len(z.queries), err)
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	f.Add("v=DMARC1; p=reject", "example.com", "mail.example.com", "example.net", uint8(0), 10)
	f.Add("v=DMARC1; p=quarantine; t=y; pct=0; adkim=s", "a.example.com", "", "a.example.com", uint8(7), 99)
	f.Add("v=DMARC1; p=reject; sp=none; np=quarantine; pct=30", "x.example.com", "example.com", "", uint8(0xff), 50)
	f.Fuzz(func(t *testing.T, txt, from, spfDom, dkimDom string, flags uint8, roll int) {
		rec, err := ParseRecord(txt)
		if err != nil {
			return
		}
		policyDomain := from
		if flags&1 != 0 {
			_, policyDomain, _ = strings.Cut(from, ".")
		}
		in := Input{
			FromDomain:      from,
			OrgDomain:       OrgDomainPSL,
			Discovery:       &Discovery{Record: rec, PolicyDomain: policyDomain, OrgDomain: OrgDomainPSL(from)},
			SPF:             SPFResult{Domain: spfDom, Result: []Result{Pass, Fail, SoftFail, None}[flags>>1&3]},
			DKIM:            []DKIMResult{{Domain: dkimDom, Result: []Result{Pass, Fail}[flags>>3&1]}},
			Monitor:         flags&16 != 0,
			LegacyPct:       []string{"testing", "sample"}[flags>>5&1],
			SampleRoll:      roll,
			FromNonExistent: flags&64 != 0,
		}
		if flags&128 != 0 {
			in.Override = &Override{Action: ActionQuarantine, Reason: strconv.Itoa(roll)}
		}
		d := Evaluate(in)
		switch {
		case strings.TrimSuffix(from, ".") == "":
			if d.Result != None {
				t.Fatalf("empty From gave %s", d.Result)
			}
			return
		case d.Result != Pass && d.Result != Fail:
			t.Fatalf("result %s", d.Result)
		case d.Result == Pass && d.Disposition != ActionNone, in.Monitor && d.Disposition != ActionNone:
			t.Fatalf("disposition %s for %+v", d.Disposition, d)
		case in.Override == nil && rank(d.Disposition) > rank(d.PolicyInForce):
			t.Fatalf("disposition %s above policy %s", d.Disposition, d.PolicyInForce)
		case d.Why == "" || !strings.ContainsAny(from, "\r\n") && strings.ContainsAny(d.Why, "\r\n"):
			t.Fatalf("bad Why %q", d.Why)
		}
	})
}

func rank(a Action) int {
	return map[Action]int{ActionNone: 0, ActionQuarantine: 1, ActionReject: 2}[a]
}

// FuzzOrgDomainPSL: the organizational domain is "" or the name itself or
// one of its parents, and is its own organizational domain.
func FuzzOrgDomainPSL(f *testing.F) {
	for _, s := range []string{"a.b.example.co.uk", "COM", ".example.com", "a..b", "食狮.公司.cn", "www.ck", "example.com.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, domain string) {
		org := OrgDomainPSL(domain)
		if org == "" {
			return
		}
		d := strings.ToLower(strings.TrimSuffix(domain, "."))
		if org != d && !strings.HasSuffix(d, "."+org) {
			t.Fatalf("OrgDomainPSL(%q) = %q: not the name or a parent", domain, org)
		}
		if again := OrgDomainPSL(org); again != org {
			t.Fatalf("OrgDomainPSL(%q) = %q, but OrgDomainPSL(%q) = %q", domain, org, org, again)
		}
	})
}
