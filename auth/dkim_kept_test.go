package auth

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

// forgetfulBuffer holds nothing: it breaks the MessageBuffer promise.
type forgetfulBuffer struct{}

func (forgetfulBuffer) Bytes() []byte { return nil }

// A signed message is verified from the caller's buffer at Close while it
// is small, and switches to streaming once it outgrows SyncVerifyLimit,
// whichever of verifier and buffer is written first.
func TestDKIMVerifiedFromBuffer(t *testing.T) {
	key, _ := testKeys()
	c, _ := newTestChecker(t, resolvertest.Zone{
		"s1._domainkey.a.example.": {txtRR("s1._domainkey.a.example", keyRecord(t, key.Public()))},
	})
	small := sign(t, plainMessage, key, "a.example", "s1")
	line := "All work and no play makes Jack a dull boy, a line of 64 bytes.\r\n"
	big := sign(t, strings.Replace(plainMessage, "Hello Bob.\r\n", strings.Repeat(line, SyncVerifyLimit/len(line)+100), 1), key, "a.example", "s1")

	for _, tc := range []struct {
		name       string
		msg        string
		piece      int
		keptFirst  bool
		wantStream bool
	}{
		{"small", small, 37, false, false},
		{"small, buffer first", small, 37, true, false},
		{"small, one piece", small, len(small), false, false},
		{"large", big, 32 << 10, false, true},
		{"large, buffer first", big, 32 << 10, true, true},
		{"large, one piece", big, len(big), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kept bytes.Buffer
			v := c.NewDKIMVerifier(context.Background(), &kept)
			for b := []byte(tc.msg); len(b) > 0; {
				p := b[:min(len(b), tc.piece)]
				if tc.keptFirst {
					kept.Write(p)
				}
				if n, err := v.Write(p); n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				if !tc.keptFirst {
					kept.Write(p)
				}
				b = b[len(p):]
			}
			if streaming := v.pw != nil; streaming != tc.wantStream {
				t.Errorf("library streaming = %v, want %v", streaming, tc.wantStream)
			}
			outs, err := v.Close()
			if err != nil || len(outs) != 1 || outs[0].Result != policy.Pass {
				t.Fatalf("outcomes %+v, %v; want one pass", outs, err)
			}
		})
	}

	// A buffer that does not keep the message gives temperror, never a
	// verdict on bytes the library did not see.
	for _, msg := range []string{small, big} {
		v := c.NewDKIMVerifier(context.Background(), forgetfulBuffer{})
		for b := []byte(msg); len(b) > 0; {
			p := b[:min(len(b), 32<<10)]
			if n, err := v.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			b = b[len(p):]
		}
		outs, err := v.Close()
		if err == nil || len(outs) != 1 || outs[0].Result != policy.TempError {
			t.Errorf("%d-byte message with a forgetful buffer: %+v, %v; want one temperror and an error", len(msg), outs, err)
		}
	}
}
