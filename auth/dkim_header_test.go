package auth

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The verifier's header copy is what smtpd evaluates: it must not depend on
// how the stream was split, and must flag an oversized header section.
func TestVerifierHeaderCapture(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"crlf", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n\r\n"},
		{"lf", "A: 1\nB: 2\n\nbody\n", "A: 1\nB: 2\n\n"},
		{"no body", "A: 1\r\n", "A: 1\r\n"},
		{"empty header", "\r\nbody\r\n", "\r\n"},
		{"folded", "A: 1\r\n 2\r\n\r\nx", "A: 1\r\n 2\r\n\r\n"},
	}
	c := &Checker{}
	for _, tc := range cases {
		for split := 1; split <= len(tc.in); split++ {
			v := c.NewDKIMVerifier(context.Background(), nil)
			for i := 0; i < len(tc.in); i += split {
				v.Write([]byte(tc.in[i:min(i+split, len(tc.in))]))
			}
			v.Close()
			if got := string(v.Header()); got != tc.want || v.HeaderTooLarge() {
				t.Errorf("%s split %d: %q (too large %v), want %q", tc.name, split, got, v.HeaderTooLarge(), tc.want)
			}
		}
	}
	// The body after the header is not copied, even when it comes in the
	// same write.
	v := c.NewDKIMVerifier(context.Background(), nil)
	v.Write([]byte("A: 1\r\n\r\n" + strings.Repeat("b", 100<<10)))
	if got := cap(v.Header()); got > 1024 {
		t.Errorf("capturing a 7-byte header kept %d bytes of room", got)
	}
	v.Close()
	v = c.NewDKIMVerifier(context.Background(), nil)
	v.Write([]byte(strings.Repeat("X-Pad: "+strings.Repeat("y", 90)+"\r\n", MaxHeaderCapture/90)))
	v.Write([]byte("\r\nbody\r\n"))
	v.Close()
	if !v.HeaderTooLarge() || !bytes.HasPrefix(v.Header(), []byte("X-Pad: ")) {
		t.Errorf("an oversized header section was not flagged (%d bytes kept)", len(v.Header()))
	}
}
