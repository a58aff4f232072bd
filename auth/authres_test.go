package auth

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseAuthResults(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		id      string
		methods []MethodResult
		bad     bool
	}{
		{name: "no result", value: "mx.example.org; none", id: "mx.example.org"},
		{name: "no result with version", value: "mx.example.org 1; none", id: "mx.example.org"},
		{name: "only id", value: "mx.example.org", id: "mx.example.org"},
		{
			name:  "RFC 8601 appendix style",
			value: "example.com;\r\n\t  spf=pass smtp.mailfrom=example.net",
			id:    "example.com",
			methods: []MethodResult{{Method: "spf", Result: "pass",
				Props: []Property{{"smtp", "mailfrom", "example.net"}}}},
		},
		{
			name: "several methods, comments, reason, version",
			value: "mx.example.org (a comment (nested)) 1; dkim/1=FAIL (bad) reason=\"body hash did not verify\"" +
				" header.d=a.example header.b=\"ab/cd\"; spf=pass smtp.mailfrom=user@a.example;" +
				" dmarc=pass (p=reject dis=none) header.from=a.example",
			id: "mx.example.org",
			methods: []MethodResult{
				{Method: "dkim", Version: "1", Result: "fail", Reason: "body hash did not verify",
					Props: []Property{{"header", "d", "a.example"}, {"header", "b", "ab/cd"}}},
				{Method: "spf", Result: "pass", Props: []Property{{"smtp", "mailfrom", "user@a.example"}}},
				{Method: "dmarc", Result: "pass", Props: []Property{{"header", "from", "a.example"}}},
			},
		},
		{name: "quoted id", value: `"mx example"; spf=none`, id: "mx example",
			methods: []MethodResult{{Method: "spf", Result: "none"}}},
		{name: "trailing semicolon", value: "mx.example.org; spf=pass;", id: "mx.example.org",
			methods: []MethodResult{{Method: "spf", Result: "pass"}}},
		{name: "quoted local part value", value: `mx; auth=pass smtp.auth="a b"@c.example`, id: "mx",
			methods: []MethodResult{{Method: "auth", Result: "pass", Props: []Property{{"smtp", "auth", "a b@c.example"}}}}},
		{name: "empty", value: "", bad: true},
		{name: "only a comment", value: "(x)", bad: true},
		{name: "missing semicolon", value: "mx spf=pass", bad: true},
		{name: "method without result", value: "mx; spf=", bad: true},
		{name: "property without dot", value: "mx; spf=pass smtp=x", bad: true},
		{name: "property without value", value: "mx; spf=pass smtp.mailfrom=", bad: true},
		{name: "none after a result", value: "mx; spf=pass; none", bad: true},
		{name: "unterminated quote", value: `mx; spf=pass reason="oops`, bad: true},
		{name: "unterminated comment", value: "mx; spf=pass (oops", id: "mx",
			methods: []MethodResult{{Method: "spf", Result: "pass"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, methods, err := ParseAuthResults(tt.value)
			if tt.bad {
				if !errors.Is(err, ErrAuthResSyntax) {
					t.Fatalf("ParseAuthResults(%q) = %q, %+v, %v; want a syntax error", tt.value, id, methods, err)
				}
				return
			}
			if err != nil || id != tt.id || !reflect.DeepEqual(methods, tt.methods) {
				t.Fatalf("ParseAuthResults(%q) =\n%q %+v %v\nwant\n%q %+v", tt.value, id, methods, err, tt.id, tt.methods)
			}
		})
	}
}

func TestForgedResults(t *testing.T) {
	block := "Received: from x\r\n" +
		"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a.example\r\n" + // 0: ours
		"Authentication-Results: other.example; dkim=pass\r\n" +
		"authentication-results:   MX.Example.ORG (forged) 1;\r\n\tdkim=pass header.d=bank.example\r\n" + // 2: ours, folded
		"Authentication-Results: \"mx.example.org\"; none\r\n" + // 3: ours, quoted
		"Authentication-Results: mx.example.org.evil; none\r\n" +
		"Authentication-Results: MX.example.org.; dkim=pass\r\n" + // ours, with a trailing dot
		"Authentication-Results: mx.example.org;garbage that does not parse (\r\n" + // 5: ours
		"X-Authentication-Results: mx.example.org; none\r\n" +
		"Authentication-Results:\r\n" +
		"Subject: Authentication-Results: mx.example.org; none\r\n" +
		"\r\n" +
		"Authentication-Results: mx.example.org; in the body\r\n"
	ranges := ForgedResults([]byte(block), "mx.example.org")
	var got []string
	for _, r := range ranges {
		got = append(got, block[r.Start:r.End])
	}
	want := []string{
		"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a.example\r\n",
		"authentication-results:   MX.Example.ORG (forged) 1;\r\n\tdkim=pass header.d=bank.example\r\n",
		"Authentication-Results: \"mx.example.org\"; none\r\n",
		"Authentication-Results: MX.example.org.; dkim=pass\r\n",
		"Authentication-Results: mx.example.org;garbage that does not parse (\r\n",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ForgedResults =\n%q\nwant\n%q", got, want)
	}
	if r := ForgedResults([]byte(block), ""); r != nil {
		t.Errorf("empty authserv-id matched %v", r)
	}
	if r := ForgedResults([]byte(block), "nobody.example"); r != nil {
		t.Errorf("unknown authserv-id matched %v", r)
	}
}
