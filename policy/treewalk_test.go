package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDiscoverTreeWalk(t *testing.T) {
	tests := []struct {
		name      string
		zone      []string
		from      string
		policyDom string
		orgDom    string
		p         Action // the record's p, to tell records apart
		queries   []string
	}{
		{"From at the organizational domain",
			[]string{"_dmarc.example.com: v=DMARC1; p=reject"},
			"example.com", "example.com", "example.com", ActionReject,
			[]string{"_dmarc.example.com", "_dmarc.com"}},
		{"From at a subdomain inherits the org record",
			[]string{"_dmarc.example.com: v=DMARC1; p=quarantine"},
			"mail.example.com", "example.com", "example.com", ActionQuarantine,
			[]string{"_dmarc.mail.example.com", "_dmarc.example.com", "_dmarc.com"}},
		{"subdomain's own record is its policy; org is higher (§B.4.1)",
			[]string{"_dmarc.example.com: v=DMARC1; p=reject", "_dmarc.signing.example.com: v=DMARC1; p=none"},
			"signing.example.com", "signing.example.com", "example.com", ActionNone,
			[]string{"_dmarc.signing.example.com", "_dmarc.example.com", "_dmarc.com"}},
		{"intermediate record is neither policy nor org (§4.10.1)",
			[]string{"_dmarc.example.com: v=DMARC1; p=reject", "_dmarc.b.example.com: v=DMARC1; p=none"},
			"a.b.example.com", "example.com", "example.com", ActionReject,
			[]string{"_dmarc.a.b.example.com", "_dmarc.b.example.com", "_dmarc.example.com", "_dmarc.com"}},
		{"psd=n stops the walk and names the org domain (§4.10.2)",
			[]string{"_dmarc.example.com: v=DMARC1; p=reject", "_dmarc.mail.example.com: v=DMARC1; p=none; psd=n"},
			"a.mail.example.com", "mail.example.com", "mail.example.com", ActionNone,
			[]string{"_dmarc.a.mail.example.com", "_dmarc.mail.example.com"}},
		{"psd=n at the From domain",
			[]string{"_dmarc.example.com: v=DMARC1; p=reject", "_dmarc.dept.example.com: v=DMARC1; p=quarantine; psd=n"},
			"dept.example.com", "dept.example.com", "dept.example.com", ActionQuarantine,
			[]string{"_dmarc.dept.example.com"}},
		{"psd=y at a ccTLD: org is one label below, PSD record applies",
			[]string{"_dmarc.de: v=DMARC1; p=reject; np=reject; psd=y"},
			"brand.de", "de", "brand.de", ActionReject,
			[]string{"_dmarc.brand.de", "_dmarc.de"}},
		{"psd=y: PSD policy not used when the org domain has a record",
			[]string{"_dmarc.de: v=DMARC1; p=reject; psd=y", "_dmarc.brand.de: v=DMARC1; p=none"},
			"shop.brand.de", "brand.de", "brand.de", ActionNone,
			[]string{"_dmarc.shop.brand.de", "_dmarc.brand.de", "_dmarc.de"}},
		{"psd=y at the From domain itself: it is its own org domain",
			[]string{"_dmarc.bank.example: v=DMARC1; p=reject; psd=y"},
			"bank.example", "bank.example", "bank.example", ActionReject,
			[]string{"_dmarc.bank.example"}},
		{"B.4.3 author domain with record under a psd=y",
			[]string{"_dmarc.bank.example: v=DMARC1; p=reject; psd=y", "_dmarc.giant.bank.example: v=DMARC1; p=quarantine"},
			"giant.bank.example", "giant.bank.example", "giant.bank.example", ActionQuarantine,
			[]string{"_dmarc.giant.bank.example", "_dmarc.bank.example"}},
		{"B.4.3 subdomain without record under a psd=y: PSD record",
			[]string{"_dmarc.bank.example: v=DMARC1; p=reject; psd=y", "_dmarc.giant.bank.example: v=DMARC1; p=quarantine"},
			"mail.mega.bank.example", "bank.example", "mega.bank.example", ActionReject,
			[]string{"_dmarc.mail.mega.bank.example", "_dmarc.mega.bank.example", "_dmarc.bank.example"}},
		{"multi-label public suffix co.uk with psd=y",
			[]string{"_dmarc.co.uk: v=DMARC1; p=reject; psd=y", "_dmarc.example.co.uk: v=DMARC1; p=quarantine"},
			"shop.example.co.uk", "example.co.uk", "example.co.uk", ActionQuarantine,
			[]string{"_dmarc.shop.example.co.uk", "_dmarc.example.co.uk", "_dmarc.co.uk"}},
		{"multi-label public suffix without PSD record: fewest labels wins",
			[]string{"_dmarc.example.co.uk: v=DMARC1; p=quarantine"},
			"shop.example.co.uk", "example.co.uk", "example.co.uk", ActionQuarantine,
			[]string{"_dmarc.shop.example.co.uk", "_dmarc.example.co.uk", "_dmarc.co.uk", "_dmarc.uk"}},
		{"several records at the From name count as none",
			[]string{"_dmarc.sub.example.com: v=DMARC1; p=none", "_dmarc.sub.example.com: v=DMARC1; p=quarantine",
				"_dmarc.example.com: v=DMARC1; p=reject"},
			"sub.example.com", "example.com", "example.com", ActionReject,
			[]string{"_dmarc.sub.example.com", "_dmarc.example.com", "_dmarc.com"}},
		{"unusable record at the From name is skipped",
			[]string{"_dmarc.sub.example.com: v=DMARC1; p=maybe", "_dmarc.example.com: v=DMARC1; p=reject"},
			"sub.example.com", "example.com", "example.com", ActionReject,
			[]string{"_dmarc.sub.example.com", "_dmarc.example.com", "_dmarc.com"}},
		{"non-DMARC TXT records are discarded",
			[]string{"_dmarc.example.com: v=spf1 -all", "_dmarc.example.com: v=DMARC1; p=reject"},
			"EXAMPLE.Com.", "example.com", "example.com", ActionReject,
			[]string{"_dmarc.example.com", "_dmarc.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := newZone(tt.zone...)
			d, err := z.discover(tt.from)
			if err != nil {
				t.Fatalf("Discover(%s): %v", tt.from, err)
			}
			if d.PolicyDomain != tt.policyDom || d.OrgDomain != tt.orgDom || d.Record.P != tt.p || d.Method != MethodTreeWalk {
				t.Errorf("Discover(%s) = policy %s org %s p=%s method %s; want %s %s p=%s",
					tt.from, d.PolicyDomain, d.OrgDomain, d.Record.P, d.Method, tt.policyDom, tt.orgDom, tt.p)
			}
			if !reflect.DeepEqual(z.queries, tt.queries) || d.Queries != len(z.queries) {
				t.Errorf("queries = %v (reported %d), want %v", z.queries, d.Queries, tt.queries)
			}
		})
	}
}

// The long names of RFC 9989 §4.10, §5.1.8 and §B.4.2: the walk skips to
// the seven-label name and makes eight queries at most.
func TestDiscoverDeepNames(t *testing.T) {
	z := newZone("_dmarc.example.com: v=DMARC1; p=reject")
	d, err := z.discover("a.b.c.d.e.f.g.h.i.j.mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com", "_dmarc.g.h.i.j.mail.example.com",
		"_dmarc.h.i.j.mail.example.com", "_dmarc.i.j.mail.example.com", "_dmarc.j.mail.example.com",
		"_dmarc.mail.example.com", "_dmarc.example.com", "_dmarc.com"}
	if !reflect.DeepEqual(z.queries, want) || d.Queries != 8 {
		t.Errorf("§4.10 example queries = %v (%d)", z.queries, d.Queries)
	}
	if d.PolicyDomain != "example.com" || d.OrgDomain != "example.com" {
		t.Errorf("deep name: policy %s org %s", d.PolicyDomain, d.OrgDomain)
	}

	// §5.1.8: the psd=n record at b.c.d.e.f.g.example.com is never seen.
	z = newZone("_dmarc.example.com: v=DMARC1; p=reject", "_dmarc.b.c.d.e.f.g.example.com: v=DMARC1; p=none; psd=n")
	d, err = z.discover("mail.a.b.c.d.e.f.g.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"_dmarc.mail.a.b.c.d.e.f.g.example.com", "_dmarc.c.d.e.f.g.example.com",
		"_dmarc.d.e.f.g.example.com", "_dmarc.e.f.g.example.com", "_dmarc.f.g.example.com",
		"_dmarc.g.example.com", "_dmarc.example.com", "_dmarc.com"}
	if !reflect.DeepEqual(z.queries, want) || d.OrgDomain != "example.com" || d.Record.P != ActionReject {
		t.Errorf("§5.1.8: queries %v org %s p=%s", z.queries, d.OrgDomain, d.Record.P)
	}

	// A record at the long name itself is always found (first query).
	z = newZone("_dmarc.example.com: v=DMARC1; p=reject", "_dmarc.mail.a.b.c.d.e.f.g.example.com: v=DMARC1; p=quarantine")
	d, err = z.discover("mail.a.b.c.d.e.f.g.example.com")
	if err != nil || d.PolicyDomain != "mail.a.b.c.d.e.f.g.example.com" || d.OrgDomain != "example.com" {
		t.Errorf("long name with own record: %+v, %v", d, err)
	}
}

func TestTreeWalkQueryBound(t *testing.T) {
	for n := 1; n <= 40; n++ {
		labels := make([]string, n)
		for i := range labels {
			labels[i] = "l" + strings.Repeat("x", i%3)
		}
		name := strings.Join(labels, ".")
		z := newZone()
		_, err := z.discover(name)
		if !errors.Is(err, ErrNoRecord) || errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("%d labels: err = %v, want plain ErrNoRecord", n, err)
		}
		want := min(n, 8)
		if len(z.queries) != want {
			t.Errorf("%d labels: %d queries, want %d: %v", n, len(z.queries), want, z.queries)
		}
		if n > 8 && z.queries[1] != "_dmarc."+lastLabels(name, 7) {
			t.Errorf("%d labels: second query %s, want the seven-label name", n, z.queries[1])
		}
	}
}

func TestDiscoverErrors(t *testing.T) {
	t.Run("temporary error midway", func(t *testing.T) {
		z := newZone("_dmarc.example.com: v=DMARC1; p=reject")
		z.errs["_dmarc.example.com"] = &tempError{"_dmarc.example.com"}
		d, err := z.discover("a.example.com")
		if d != nil || !errors.Is(err, ErrTemporary) || !isTemp(err) || errors.Is(err, ErrNoRecord) {
			t.Fatalf("Discover = %+v, %v; want ErrTemporary still matching the caller's isTemporary", d, err)
		}
		if len(z.queries) != 2 {
			t.Errorf("the walk should stop at the failure: %v", z.queries)
		}
	})
	t.Run("temporary error above a found record is not skipped", func(t *testing.T) {
		z := newZone("_dmarc.example.com: v=DMARC1; p=reject")
		z.errs["_dmarc.com"] = &tempError{"_dmarc.com"}
		if _, err := z.discover("example.com"); !errors.Is(err, ErrTemporary) {
			t.Fatalf("err = %v, want ErrTemporary", err)
		}
		if _, err := z.org("example.com"); !errors.Is(err, ErrTemporary) {
			t.Fatalf("OrgDomainTreeWalk err = %v, want ErrTemporary", err)
		}
	})
	t.Run("permanent failure", func(t *testing.T) {
		z := newZone()
		perm := errors.New("test: server answered FORMERR")
		z.errs["_dmarc.example.com"] = perm
		_, err := z.discover("example.com")
		if !errors.Is(err, ErrLookup) || !errors.Is(err, perm) || errors.Is(err, ErrTemporary) {
			t.Fatalf("err = %v, want ErrLookup wrapping the cause", err)
		}
	})
	t.Run("nil classifiers: every error is temporary", func(t *testing.T) {
		z := newZone()
		z.errs["_dmarc.example.com"] = errNotFound
		if _, err := Discover("example.com", z.lookup, nil, nil); !errors.Is(err, ErrTemporary) {
			t.Fatalf("err = %v, want ErrTemporary", err)
		}
	})
	t.Run("empty answer without error is not found", func(t *testing.T) {
		empty := func(string) ([]string, error) { return nil, nil }
		if _, err := Discover("example.com", empty, nil, nil); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("err = %v, want ErrNoRecord", err)
		}
	})
	t.Run("only an unusable record", func(t *testing.T) {
		z := newZone("_dmarc.example.com: v=DMARC1; p=bogus")
		_, err := z.discover("example.com")
		if !errors.Is(err, ErrNoRecord) || !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("err = %v, want ErrNoRecord and ErrInvalidRecord", err)
		}
	})
	t.Run("nil lookup", func(t *testing.T) {
		if _, err := Discover("example.com", nil, nil, nil); err == nil {
			t.Fatal("want an error for a nil lookup")
		}
	})
	for _, bad := range []string{"", ".", "a..b", "exa mple.com", "ex\x00ample.com", "[192.0.2.1]",
		strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com"} {
		z := newZone()
		if _, err := z.discover(bad); !errors.Is(err, ErrInvalidDomain) || len(z.queries) != 0 {
			t.Errorf("Discover(%q) err = %v after %d queries, want ErrInvalidDomain and none", bad, err, len(z.queries))
		}
		if _, err := z.org(bad); !errors.Is(err, ErrInvalidDomain) {
			t.Errorf("OrgDomainTreeWalk(%q) err = %v", bad, err)
		}
	}
}

func TestOrgDomainTreeWalk(t *testing.T) {
	z := newZone(
		"_dmarc.example.com: v=DMARC1; p=reject",
		"_dmarc.signing.example.com: v=DMARC1; p=none",
		"_dmarc.bank.example: v=DMARC1; p=reject; psd=y",
		"_dmarc.giant.bank.example: v=DMARC1; p=none",
		"_dmarc.dept.corp.example: v=DMARC1; p=none; psd=n",
		"_dmarc.corp.example: v=DMARC1; p=reject",
	)
	tests := map[string]string{
		"example.com":                       "example.com",        // §B.4.1
		"signing.example.com":               "example.com",        // §B.4.1
		"a.b.c.d.e.f.g.h.i.j.k.example.com": "example.com",        // §B.4.2
		"giant.bank.example":                "giant.bank.example", // §B.4.3
		"mail.giant.bank.example":           "giant.bank.example",
		"mail.mega.bank.example":            "mega.bank.example",
		"x.dept.corp.example":               "dept.corp.example",
		"other.corp.example":                "corp.example",
		"nothing.example.net":               "nothing.example.net", // no record: the name itself
	}
	for in, want := range tests {
		if got, err := z.org(in); err != nil || got != want {
			t.Errorf("OrgDomainTreeWalk(%s) = %q, %v; want %s", in, got, err, want)
		}
	}
}
