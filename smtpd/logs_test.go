package smtpd

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestMessageID(t *testing.T) {
	long := "<" + strings.Repeat("é", 150) + "@x>"
	cases := []struct{ header, want string }{
		{"From: a@b\r\nMessage-ID: <1@example.org>\r\n\r\nbody", "<1@example.org>"},
		{"message-id:<2@example.org>\nSubject: x\n\n", "<2@example.org>"},
		{"MESSAGE-ID: <3@\r\n\texample.org>\r\nX: y\r\n\r\n", "<3@ example.org>"},
		{"Message-ID: <a\x01b\x7fc\xffd@x>\r\n\r\n", "<a?b?c?d@x>"},
		{"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n", "<first@x>"},
		{"Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n", ""},
		{"X-Message-ID: <not@x>\r\n\r\n", ""},
		{"Message-ID: <no-end@x>", "<no-end@x>"},
		// Cut on a rune boundary: "<" and 99 é are 199 bytes, one more is 201.
		{"Message-ID: " + long + "\r\n\r\n", "<" + strings.Repeat("é", 99)},
	}
	for _, c := range cases {
		if got := messageID([]byte(c.header)); got != c.want {
			t.Errorf("messageID(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

// A flood of refusals of one kind logs logBurst lines, then one per
// logEvery, and the first line after a gap says how many were dropped;
// other kinds are not held back by it.
func TestLogLimiter(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := &Server{Logger: slog.New(slog.NewTextHandler(&out, nil))}
	s.limiter.now = func() time.Time { return now }
	for i := 0; i < logBurst+7; i++ {
		s.logLimited(logConnRefused, slog.Int("n", i))
	}
	s.logLimited(logTLSFailed)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != logBurst+1 || !strings.Contains(lines[logBurst], `msg="TLS handshake failed"`) {
		t.Fatalf("%d lines, want %d connection refusals and a TLS line:\n%s", len(lines), logBurst, out.String())
	}
	if strings.Contains(out.String(), "suppressed") {
		t.Fatalf("suppressed= before anything was let through after the burst:\n%s", out.String())
	}
	out.Reset()
	now = now.Add(logEvery)
	s.logLimited(logConnRefused, slog.Int("n", 99))
	s.logLimited(logConnRefused, slog.Int("n", 100))
	got := strings.TrimSpace(out.String())
	if strings.Count(got, "\n") != 0 || !strings.Contains(got, "n=99 suppressed=7") {
		t.Fatalf("after a second: %q, want one line with suppressed=7", got)
	}
}
