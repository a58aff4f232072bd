package smtpd

import "testing"

func TestDomainSetMatch(t *testing.T) {
	set := newDomainSet([]string{"example.com", ".example.org"})
	cases := []struct {
		domain string
		want   bool
	}{
		{"example.com", true},
		{"sub.example.com", false}, // no dot: the domain only
		{"example.org", false},     // a dot: subdomains only, not the parent
		{"a.example.org", true},
		{"b.a.example.org", true},
		{"badexample.org", false},
		{"a..example.org", false},
		{".example.org", false},
		{"example.org.evil", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := set.Match(tc.domain); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.domain, got, tc.want)
		}
	}
}
