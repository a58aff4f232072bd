package arc

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// The example of RFC 6376 §3.4.5.
const (
	exampleHeader = "A: X\r\nB : Y\t\r\n\tZ  \r\n"
	exampleBody   = " C \r\nD \t E\r\n\r\n\r\n"
)

func TestCanonHeaderRFC6376Example(t *testing.T) {
	fields := []string{"A: X\r\n", "B : Y\t\r\n\tZ  \r\n"}
	var relaxed, simple string
	for _, f := range fields {
		relaxed += string(CanonHeader([]byte(f), Relaxed))
		simple += string(CanonHeader([]byte(f), Simple))
	}
	if want := "a:X\r\nb:Y Z\r\n"; relaxed != want {
		t.Errorf("relaxed = %q, want %q", relaxed, want)
	}
	if simple != exampleHeader {
		t.Errorf("simple = %q, want %q", simple, exampleHeader)
	}
}

func TestCanonHeader(t *testing.T) {
	tests := []struct{ in, relaxed string }{
		{"Subject: hi", "subject:hi\r\n"},
		{"SUBJECT:\r\n  hi  there \r\n", "subject:hi there\r\n"},
		{"X-A:", "x-a:\r\n"},
		{"X-A:  \t ", "x-a:\r\n"},
		{"To : a@b\r\n\t, c@d\r\n", "to:a@b , c@d\r\n"},
	}
	for _, tt := range tests {
		if got := string(CanonHeader([]byte(tt.in), Relaxed)); got != tt.relaxed {
			t.Errorf("relaxed(%q) = %q, want %q", tt.in, got, tt.relaxed)
		}
	}
}

func TestParseCanon(t *testing.T) {
	tests := []struct{ in, h, b string }{
		{"", Simple, Simple},
		{"relaxed", Relaxed, Simple},
		{"relaxed/relaxed", Relaxed, Relaxed},
		{"simple/relaxed", Simple, Relaxed},
		{"relaxed/", "", ""},
		{"nowsp", "", ""},
		{"Relaxed/simple", "", ""},
	}
	for _, tt := range tests {
		h, b, err := ParseCanon(tt.in)
		if (err != nil) != (tt.h == "") || h != tt.h || b != tt.b {
			t.Errorf("ParseCanon(%q) = %q %q %v", tt.in, h, b, err)
		}
	}
}

func TestStripSignature(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ARC-Seal: i=1; a=rsa-sha256; b=abc\r\n def; cv=none\r\n", "ARC-Seal: i=1; a=rsa-sha256; b=; cv=none\r\n"},
		{"ARC-Seal: i=1; bh=xyz; b = abc", "ARC-Seal: i=1; bh=xyz; b ="},
		{"X: b=1;b=2", "X: b=;b="},
		{"X: bb=1; a=b=c", "X: bb=1; a=b=c"},
		{"no colon", "no colon"},
	}
	for _, tt := range tests {
		if got := string(StripSignature([]byte(tt.in))); got != tt.want {
			t.Errorf("StripSignature(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// hashBody hashes body in one Write and returns the base64 digest.
func hashBody(algorithm, body string, limit int64, chunk int) string {
	h := NewBodyHasher(algorithm, sha256.New(), limit)
	for len(body) > 0 {
		n := min(chunk, len(body))
		_, _ = h.Write([]byte(body[:n]))
		body = body[n:]
	}
	return base64.StdEncoding.EncodeToString(h.Sum())
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestBodyCanon(t *testing.T) {
	tests := []struct {
		body            string
		simple, relaxed string
	}{
		{exampleBody, " C \r\nD \t E\r\n", " C\r\nD E\r\n"}, // RFC 6376 §3.4.5
		{"", "\r\n", ""},
		{"\r\n\r\n", "\r\n", ""},
		{"a", "a\r\n", "a\r\n"},
		{"a\r\n \t \r\n\r\n", "a\r\n \t \r\n", "a\r\n"},
		{"a  \r\n\r\nb \t", "a  \r\n\r\nb \t\r\n", "a\r\n\r\nb\r\n"},
		{"\tx\r\n", "\tx\r\n", " x\r\n"},
		{"a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
		{"a\r", "a\r\r\n", "a\r\r\n"},
		{"a\nb\n", "a\r\nb\r\n", "a\r\nb\r\n"},
	}
	for _, tt := range tests {
		for chunk := 1; chunk <= len(tt.body)+1; chunk++ {
			if got := hashBody(Simple, tt.body, -1, chunk); got != sha(tt.simple) {
				t.Errorf("simple %q chunk %d: hash of another canonical form than %q", tt.body, chunk, tt.simple)
			}
			if got := hashBody(Relaxed, tt.body, -1, chunk); got != sha(tt.relaxed) {
				t.Errorf("relaxed %q chunk %d: hash of another canonical form than %q", tt.body, chunk, tt.relaxed)
			}
		}
	}
}

func TestBodyLimit(t *testing.T) {
	body := "Hello\r\nworld\r\n\r\n"
	if got := hashBody(Simple, body, 7, 3); got != sha("Hello\r\n") {
		t.Errorf("l=7: not the hash of the first 7 canonical octets")
	}
	if got := hashBody(Relaxed, body, 0, 3); got != sha("") {
		t.Errorf("l=0: not the hash of nothing")
	}
	h := NewBodyHasher(Simple, sha256.New(), 3)
	_, _ = h.Write([]byte(body))
	if n := h.Length(); n != int64(len("Hello\r\nworld\r\n")) {
		t.Errorf("Length = %d", n)
	}
}

func TestBodyHasherLargeBody(t *testing.T) {
	line := strings.Repeat("x ", 40) + "\r\n"
	body := strings.Repeat(line, 5000)
	want := sha(strings.Repeat(strings.TrimSuffix(strings.Repeat("x ", 40), " ")+"\r\n", 5000))
	if got := hashBody(Relaxed, body, -1, 4096); got != want {
		t.Fatal("relaxed hash of a large body differs")
	}
}
