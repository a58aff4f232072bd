package smtpd

import (
	"bufio"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The client's HELO name and recipient become part of the Received field
// we prepend: whatever they hold, the field stays one well-formed header
// field that ends where it should (no injected fields, no bare CR or LF).
func FuzzReceivedHeader(f *testing.F) {
	f.Add("client.example", "bob@example.org", false)
	f.Add("[192.0.2.1]", "\"a b\"@example.org", true)
	f.Add("evil\r\nX-Injected: 1", "x@y\r\nBcc: z", false)
	f.Add("a(b)c;d\\e", "\x00@\x7f", true)
	f.Add(strings.Repeat("é", 300), "@", false)
	f.Fuzz(func(t *testing.T, helo, rcpt string, utf8Mode bool) {
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		h := receivedHeader(helo, net.ParseIP("192.0.2.7"), "mx.test", "ID1", []string{rcpt}, nil, utf8Mode, now)
		if !strings.HasPrefix(h, "Received: from ") || !strings.HasSuffix(h, "\r\n") {
			t.Fatalf("not a Received field: %q", h)
		}
		for i, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
			if strings.ContainsAny(line, "\r\n\x00") {
				t.Fatalf("bare CR, LF or NUL in %q", h)
			}
			if i > 0 && !strings.HasPrefix(line, "\t") {
				t.Fatalf("line %d starts a new field: %q", i, h)
			}
		}
		hdr, err := textproto.NewReader(bufio.NewReader(strings.NewReader(h + "\r\n"))).ReadMIMEHeader()
		if err != nil || len(hdr) != 1 || len(hdr["Received"]) != 1 {
			t.Fatalf("reads back as %v (%v), want one Received field: %q", hdr, err, h)
		}
		if utf8.ValidString(helo) && utf8.ValidString(rcpt) && !utf8.ValidString(h) {
			t.Fatalf("valid UTF-8 in, invalid out: %q", h)
		}
	})
}

// quoteAddress makes an address go-smtp handed over unquoted valid on the
// wire again: its local part is a dot-atom or a quoted string that unquotes
// to what the client sent, and the domain is untouched.
func FuzzQuoteAddress(f *testing.F) {
	f.Add("bob@example.org")
	f.Add("a b@example.org")
	f.Add("a\"b\\c@example.org")
	f.Add(".x.@example.org")
	f.Add("jörg@example.org")
	f.Add("no-at-sign")
	f.Fuzz(func(t *testing.T, addr string) {
		if addr == "" || badAddressBytes(addr) {
			return
		}
		q := quoteAddress(addr)
		if checkPath(addr, true) == nil && (len(q) > maxPath-2 || strings.ContainsAny(q, "<>\r\n")) {
			t.Fatalf("checkPath(%q) passed an address the queue refuses: %q", addr, q)
		}
		local, domain := addr, ""
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			local, domain = addr[:i], addr[i:]
		}
		if !strings.HasSuffix(q, domain) {
			t.Fatalf("quoteAddress(%q) = %q changed the domain", addr, q)
		}
		qlocal := strings.TrimSuffix(q, domain)
		if isDotAtom(qlocal) {
			if qlocal != local {
				t.Fatalf("quoteAddress(%q) = %q: dot-atom differs", addr, q)
			}
			return
		}
		if len(qlocal) < 2 || qlocal[0] != '"' || qlocal[len(qlocal)-1] != '"' {
			t.Fatalf("quoteAddress(%q) = %q: neither dot-atom nor quoted string", addr, q)
		}
		var un strings.Builder
		inner := qlocal[1 : len(qlocal)-1]
		for i := 0; i < len(inner); i++ {
			switch c := inner[i]; {
			case c == '\\' && i+1 < len(inner):
				i++
				un.WriteByte(inner[i])
			case c == '"' || c == '\\':
				t.Fatalf("quoteAddress(%q) = %q: unescaped %q", addr, q, c)
			default:
				un.WriteByte(c)
			}
		}
		if un.String() != local {
			t.Fatalf("quoteAddress(%q) = %q unquotes to %q", addr, q, un.String())
		}
	})
}

// The Message-ID in the log is one bounded line of valid UTF-8 whatever
// the header holds.
func FuzzMessageID(f *testing.F) {
	f.Add([]byte("Message-ID: <1@example.org>\r\n\r\n"))
	f.Add([]byte("message-id: <a\r\n\tb\x00\xff>\nX: y\n\n"))
	f.Add([]byte("Message-ID:" + strings.Repeat("\u00e9", 200)))
	f.Fuzz(func(t *testing.T, header []byte) {
		id := messageID(header)
		if len(id) > maxLogMessageID || !utf8.ValidString(id) {
			t.Fatalf("%q: %d bytes, valid UTF-8 %v", id, len(id), utf8.ValidString(id))
		}
		if strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("control character in %q", id)
		}
	})
}
