package auth

import (
	"strings"
	"testing"

	"dmarcgate/policy"
)

func TestResultsHeader(t *testing.T) {
	reject := &policy.Discovery{Record: &policy.Record{P: policy.ActionReject, SP: policy.ActionReject}, PolicyDomain: "a.example"}
	tests := []struct {
		name string
		r    Results
		want string
	}{
		{
			name: "all pass",
			r: Results{
				AuthservID: "mx.example.org",
				SPF:        SPFOutcome{Result: policy.Pass, Domain: "a.example", Scope: ScopeMailFrom},
				DKIM:       []DKIMOutcome{{Domain: "a.example", Selector: "s1", Algorithm: "rsa-sha256", Result: policy.Pass, HeaderB: "abcdEFGH"}},
				DMARC:      policy.Decision{Result: policy.Pass, PolicyInForce: policy.ActionReject, Disposition: policy.ActionNone},
				FromDomain: "a.example",
				Policy:     reject,
			},
			want: "Authentication-Results: mx.example.org;\r\n" +
				"\tspf=pass smtp.mailfrom=a.example;\r\n" +
				"\tdkim=pass header.d=a.example header.s=s1 header.a=rsa-sha256\r\n" +
				"\theader.b=abcdEFGH;\r\n" +
				"\tdmarc=pass (p=reject sp=reject dis=none) header.from=a.example\r\n",
		},
		{
			name: "failures, helo scope, no signature, no policy",
			r: Results{
				AuthservID: "mx.example.org",
				SPF:        SPFOutcome{Result: policy.TempError, Domain: "helo.example", Scope: ScopeHelo, Err: "lookup timed out"},
				DMARC:      policy.Decision{Result: policy.None},
				FromDomain: "b.example",
			},
			want: "Authentication-Results: mx.example.org;\r\n" +
				"\tspf=temperror reason=\"lookup timed out\" smtp.helo=helo.example;\r\n" +
				"\tdkim=none;\r\n" +
				"\tdmarc=none (p=none dis=none) header.from=b.example\r\n",
		},
		{
			name: "dkim fail with reason, two signatures, folding",
			r: Results{
				AuthservID: "mx.example.org",
				SPF:        SPFOutcome{Result: policy.Fail, Domain: "a.example", Scope: ScopeMailFrom},
				DKIM: []DKIMOutcome{
					{Domain: "a.example", Selector: "s1", Algorithm: "rsa-sha256", Result: policy.Fail, Reason: "body hash did not verify", HeaderB: "ab/cdEFG"},
					{Domain: "list.example", Selector: "sel", Algorithm: "ed25519-sha256", Result: policy.Pass, HeaderB: "zzzzzzzz"},
				},
				DMARC:      policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionQuarantine, Disposition: policy.ActionQuarantine},
				FromDomain: "a.example",
			},
			want: "Authentication-Results: mx.example.org;\r\n" +
				"\tspf=fail smtp.mailfrom=a.example;\r\n" +
				"\tdkim=fail reason=\"body hash did not verify\" header.d=a.example\r\n" +
				"\theader.s=s1 header.a=rsa-sha256 header.b=\"ab/cdEFG\";\r\n" +
				"\tdkim=pass header.d=list.example header.s=sel header.a=ed25519-sha256\r\n" +
				"\theader.b=zzzzzzzz;\r\n" +
				"\tdmarc=fail (p=quarantine dis=quarantine) header.from=a.example\r\n",
		},
		{
			name: "hostile values are quoted and cleaned",
			r: Results{
				AuthservID: "mx.example.org",
				SPF:        SPFOutcome{Result: policy.None, Domain: "evil\r\nX-Injected: yes", Scope: ScopeHelo},
				DKIM:       []DKIMOutcome{{Domain: "a.example", Selector: "s\"1\\;x", Result: "pass\r\nBcc: x", Reason: "nul\x00here"}},
				DMARC:      policy.Decision{Result: policy.PermError, PolicyInForce: "weird)", Disposition: ""},
			},
			want: "Authentication-Results: mx.example.org;\r\n" +
				"\tspf=none smtp.helo=\"evil??X-Injected: yes\";\r\n" +
				"\tdkim=permerror reason=\"nul?here\" header.d=a.example\r\n" +
				"\theader.s=\"s\\\"1\\\\;x\";\r\n" +
				"\tdmarc=permerror (p=none dis=none)\r\n",
		},
		{
			name: "nothing to report",
			r:    Results{AuthservID: "mx.example.org", DKIM: nil},
			want: "Authentication-Results: mx.example.org;\r\n\tdkim=none\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.Header()
			if got != tt.want {
				t.Fatalf("Header() =\n%q\nwant\n%q", got, tt.want)
			}
			checkHeaderShape(t, got)
		})
	}
}

// checkHeaderShape checks what every generated field must satisfy: CRLF
// only as folding or at the end, no NUL, lines within 998 bytes, and it
// parses back with our own parser.
func checkHeaderShape(t *testing.T, h string) {
	t.Helper()
	if !strings.HasSuffix(h, "\r\n") || strings.ContainsRune(h, 0) {
		t.Errorf("bad ending or NUL in %q", h)
	}
	body := strings.TrimSuffix(h, "\r\n")
	for i, line := range strings.Split(body, "\r\n") {
		if i > 0 && !strings.HasPrefix(line, "\t") {
			t.Errorf("line %d does not start with a tab: %q", i, line)
		}
		if strings.ContainsAny(line, "\r\n") || len(line) > 998 {
			t.Errorf("bad line %q", line)
		}
	}
	fields := HeaderFields([]byte(h + "\r\n"))
	if len(fields) != 1 || fields[0].Name != "Authentication-Results" {
		t.Fatalf("not one field: %+v", fields)
	}
	if _, _, err := ParseAuthResults(fields[0].Value()); err != nil {
		t.Errorf("own header does not parse: %v", err)
	}
}
