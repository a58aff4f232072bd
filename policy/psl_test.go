package policy

import (
	"errors"
	"reflect"
	"testing"
)

func TestOrgDomainPSL(t *testing.T) {
	tests := map[string]string{
		"example.com":          "example.com",
		"mail.example.com":     "example.com",
		"MAIL.Example.COM.":    "example.com",
		"a.b.example.co.uk":    "example.co.uk",
		"example.co.uk":        "example.co.uk",
		"co.uk":                "co.uk", // a public suffix is its own org domain
		"com":                  "com",
		"www.city.kawasaki.jp": "city.kawasaki.jp",
		"":                     "",
		".example.com":         "", // an empty label: not a domain name
		"a..example.com":       "",
		"example.com..":        "",
	}
	for in, want := range tests {
		if got := OrgDomainPSL(in); got != want {
			t.Errorf("OrgDomainPSL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDiscoverPSL(t *testing.T) {
	tests := []struct {
		name      string
		zone      []string
		from      string
		policyDom string
		queries   []string
		err       error
	}{
		{"From domain record", []string{"_dmarc.mail.example.co.uk: v=DMARC1; p=none", "_dmarc.example.co.uk: v=DMARC1; p=reject"},
			"mail.example.co.uk", "mail.example.co.uk", []string{"_dmarc.mail.example.co.uk"}, nil},
		{"org domain record", []string{"_dmarc.example.co.uk: v=DMARC1; p=reject"},
			"a.b.example.co.uk", "example.co.uk", []string{"_dmarc.a.b.example.co.uk", "_dmarc.example.co.uk"}, nil},
		{"From is the org domain: one query", nil,
			"example.com", "", []string{"_dmarc.example.com"}, ErrNoRecord},
		{"nothing anywhere", nil,
			"mail.example.com", "", []string{"_dmarc.mail.example.com", "_dmarc.example.com"}, ErrNoRecord},
		{"several records at From end discovery (RFC 7489 §6.6.3 step 6)",
			[]string{"_dmarc.mail.example.com: v=DMARC1; p=none", "_dmarc.mail.example.com: v=DMARC1; p=none",
				"_dmarc.example.com: v=DMARC1; p=reject"},
			"mail.example.com", "", []string{"_dmarc.mail.example.com"}, ErrMultiple},
		{"unusable record at From ends discovery (step 5)",
			[]string{"_dmarc.mail.example.com: v=DMARC1; p=x", "_dmarc.example.com: v=DMARC1; p=reject"},
			"mail.example.com", "", []string{"_dmarc.mail.example.com"}, ErrInvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := newZone(tt.zone...)
			d, err := DiscoverPSL(tt.from, z.lookup, isNotFound, isTemp)
			if !reflect.DeepEqual(z.queries, tt.queries) {
				t.Errorf("queries = %v, want %v", z.queries, tt.queries)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrNoRecord) || d != nil {
					t.Fatalf("DiscoverPSL = %+v, %v; want %v (reading as ErrNoRecord)", d, err, tt.err)
				}
				return
			}
			if err != nil || d.PolicyDomain != tt.policyDom || d.Method != MethodPSL || d.Queries != len(tt.queries) {
				t.Fatalf("DiscoverPSL = %+v, %v; want policy domain %s", d, err, tt.policyDom)
			}
			if d.OrgDomain != OrgDomainPSL(tt.from) {
				t.Errorf("OrgDomain = %s", d.OrgDomain)
			}
		})
	}
	t.Run("temporary error at the org domain", func(t *testing.T) {
		z := newZone()
		z.errs["_dmarc.example.com"] = &tempError{"_dmarc.example.com"}
		if _, err := DiscoverPSL("a.example.com", z.lookup, isNotFound, isTemp); !errors.Is(err, ErrTemporary) || !isTemp(err) {
			t.Fatalf("err = %v, want ErrTemporary", err)
		}
	})
	t.Run("invalid domain", func(t *testing.T) {
		if _, err := DiscoverPSL("a..b", newZone().lookup, isNotFound, isTemp); !errors.Is(err, ErrInvalidDomain) {
			t.Fatalf("err = %v", err)
		}
	})
}
