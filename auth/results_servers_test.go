package auth

import "testing"

func TestWithoutServers(t *testing.T) {
	for in, want := range map[string]string{
		"lookup a.example on 127.0.0.1:53: server answered SERVFAIL":              "lookup a.example: server answered SERVFAIL",
		"key unavailable: lookup s._domainkey.x on [2001:db8::1]:53: i/o timeout": "key unavailable: lookup s._domainkey.x: i/o timeout",
		"lookup a on 10.0.0.1:53: x; lookup b on 10.0.0.2:5353: y":                "lookup a: x; lookup b: y",
		"signature on the body: hash mismatch":                                    "signature on the body: hash mismatch",
		"not checked on ":                                                         "not checked on ",
	} {
		if got := withoutServers(in); got != want {
			t.Errorf("withoutServers(%q) = %q, want %q", in, got, want)
		}
	}
}
