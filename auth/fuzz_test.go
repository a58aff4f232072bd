package auth

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

func FuzzParseFrom(f *testing.F) {
	f.Add([]byte("From: Alice <alice@a.example>\r\n\r\n"))
	f.Add([]byte("From: \"a@b\"@c.example, x@C.example\r\nFrom: y@d.example\r\n\r\n"))
	f.Add([]byte("from: =?utf-8?q?J=C3=B6?= <j@b\xc3\xbccher.example>\n\n"))
	f.Add([]byte("From: g: a@b.example;\r\n (c) <x@[1.2.3.4]>\r\n"))
	f.Add([]byte("From: ((((((\r\n\r\n"))
	f.Fuzz(func(t *testing.T, header []byte) {
		domain, addr, err := ParseFrom(header)
		if err != nil {
			if !errors.Is(err, ErrFromMissing) && !errors.Is(err, ErrFromMultiple) && !errors.Is(err, ErrFromInvalid) {
				t.Fatalf("unexpected error %v", err)
			}
			if domain != "" || addr != "" {
				t.Fatalf("error %v with results %q %q", err, domain, addr)
			}
			return
		}
		if !validDomainSyntax(domain) || domain != strings.ToLower(domain) || !isASCII(domain) {
			t.Fatalf("bad domain %q", domain)
		}
		if !strings.HasSuffix(addr, "@"+domain) || strings.ContainsAny(addr, "\r\n\x00") {
			t.Fatalf("bad addr %q for %q", addr, domain)
		}
	})
}

func FuzzForgedResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.example.org; spf=pass\r\nSubject: x\r\n\r\n"), "mx.example.org")
	f.Add([]byte("authentication-results: (c) \"MX.example.org\" 1;\r\n none\r\n"), "mx.example.org")
	f.Add([]byte(" x\r\nAuthentication-Results:\r\nAuthentication-Results: (((\r\n"), "a")
	f.Fuzz(func(t *testing.T, header []byte, id string) {
		prev := 0
		for _, r := range ForgedResults(header, id) {
			if r.Start < prev || r.End <= r.Start || r.End > len(header) {
				t.Fatalf("bad range %+v after %d in %d bytes", r, prev, len(header))
			}
			fs := HeaderFields(header[r.Start:r.End])
			if len(fs) == 0 || !strings.EqualFold(fs[0].Name, "Authentication-Results") {
				t.Fatalf("range %+v is not an Authentication-Results field: %q", r, header[r.Start:r.End])
			}
			prev = r.End
		}
	})
}

func FuzzParseAuthResults(f *testing.F) {
	f.Add("mx.example.org; none")
	f.Add("mx.example.org 1; dkim/1=pass (c (n)) reason=\"x\\\"y\" header.d=a.example header.b=\"ab/c\"; spf=fail smtp.mailfrom=\"a b\"@c.example;")
	f.Add("\"id\"; dmarc=pass (p=reject dis=none) header.from=a.example")
	f.Add("x; a=b c.d=\"")
	f.Fuzz(func(t *testing.T, value string) {
		id, methods, err := ParseAuthResults(value)
		if err != nil {
			if !errors.Is(err, ErrAuthResSyntax) || id != "" || methods != nil {
				t.Fatalf("error %v with %q %v", err, id, methods)
			}
			return
		}
		if id == "" || len(methods) > maxAuthResMethods {
			t.Fatalf("parsed %q with %d methods", id, len(methods))
		}
		for _, m := range methods {
			if m.Method == "" || m.Result == "" {
				t.Fatalf("empty method or result in %+v", m)
			}
		}
	})
}

func FuzzResultsHeader(f *testing.F) {
	f.Add("mx.example.org", "a.example", "s1", "body hash did not verify", "abcdefgh")
	f.Add("mx", "evil\r\nBcc: x", "\"\\", "\x00", "ab/cd=+")
	f.Fuzz(func(t *testing.T, id, domain, selector, reason, b string) {
		if id == "" {
			return
		}
		r := Results{
			AuthservID: id,
			SPF:        SPFOutcome{Result: policy.PermError, Domain: domain, Scope: ScopeMailFrom, Err: reason},
			DKIM:       []DKIMOutcome{{Domain: domain, Selector: selector, Algorithm: selector, Result: policy.Fail, Reason: reason, HeaderB: b}},
			DMARC:      policy.Decision{Result: policy.Fail, PolicyInForce: policy.Action(reason)},
			FromDomain: domain,
		}
		checkHeaderShape(t, r.Header())
	})
}

func FuzzDKIMVerifier(f *testing.F) {
	f.Add([]byte(plainMessage))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=x; h=from; bh=; b=\r\nFrom: a@a.example\r\n\r\nbody"))
	f.Add([]byte("DKIM-Signature:\r\n DKIM-Signature: ;;;\r\n\r\n"))
	f.Add([]byte("\r\n\r\n\x00\xff"))
	c, _ := newTestChecker(f, resolvertest.Zone{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		var results [2][]DKIMOutcome
		for i, kept := range []*bytes.Buffer{nil, new(bytes.Buffer)} {
			done := make(chan struct{})
			var outs []DKIMOutcome
			var header []byte
			go func() {
				defer close(done)
				var buf MessageBuffer
				if kept != nil {
					buf = kept
				}
				v := c.NewDKIMVerifier(context.Background(), buf)
				for b := msg; len(b) > 0; {
					n := min(len(b), 101)
					if _, err := v.Write(b[:n]); err != nil {
						t.Errorf("Write: %v", err)
						return
					}
					if kept != nil {
						kept.Write(b[:n])
					}
					b = b[n:]
				}
				var err error
				if outs, err = v.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				header = v.Header()
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("verifier hung on %q", msg)
			}
			if want := len(dkimSignatureTags(header)); len(outs) != want {
				t.Fatalf("%d outcomes for %d signatures", len(outs), want)
			}
			for _, o := range outs {
				if o.Result == "" || o.Result == policy.Pass {
					t.Fatalf("outcome %+v for a message no key can verify", o)
				}
			}
			results[i] = outs
		}
		if !reflect.DeepEqual(results[0], results[1]) {
			t.Fatalf("streamed %+v, verified from the buffer %+v", results[0], results[1])
		}
	})
}
