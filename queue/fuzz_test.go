package queue

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// FuzzReadHeaders: the header section quoted in DSNs comes from untrusted
// mail; it must be a prefix of the input, bounded, and never panic.
func FuzzReadHeaders(f *testing.F) {
	f.Add([]byte("A: 1\r\nB: 2\r\n\r\nbody"), 100)
	f.Add([]byte("no header end"), 5)
	f.Add([]byte("\r\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = max(1, limit%4096)
		got := readHeaders(bytes.NewReader(in), limit)
		if len(got) > limit || !bytes.HasPrefix(in, got) {
			t.Fatalf("readHeaders returned %q for %q (limit %d)", got, in, limit)
		}
	})
}

// FuzzOmitRanges: any ranges are refused or yield exactly the bytes outside
// them, with deliveredSize matching.
func FuzzOmitRanges(f *testing.F) {
	f.Add([]byte("0123456789"), int64(0), int64(3), int64(5), int64(7))
	f.Add([]byte("abc"), int64(-1), int64(2), int64(1), int64(1))
	f.Add([]byte(""), int64(0), int64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, body []byte, s1, e1, s2, e2 int64) {
		size := int64(len(body))
		omit, err := normaliseRanges([]Range{{s1, e1}, {s2, e2}}, size)
		if err != nil {
			return
		}
		var want []byte
		for i := range body {
			inside := (int64(i) >= s1 && int64(i) < e1) || (int64(i) >= s2 && int64(i) < e2)
			if !inside {
				want = append(want, body[i])
			}
		}
		got, _ := io.ReadAll(deliveredReader(nil, bytes.NewReader(body), size, omit))
		if !bytes.Equal(got, want) || deliveredSize(nil, size, omit) != int64(len(want)) {
			t.Fatalf("omit %v of %q: got %q, want %q", omit, body, got, want)
		}
	})
}

// FuzzReplyText: remote reply text reaches logs and DSN fields; it must
// come out as one line of printable ASCII.
func FuzzReplyText(f *testing.F) {
	f.Add(550, "5.1.1 user unknown")
	f.Add(421, "4.7.0 bye\r\nInjected: header")
	f.Add(250, "\x1b[31mred")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		err := replyFrom(code, msg)
		s := replyText(err)
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				t.Fatalf("replyText(%q) = %q has byte %#x", msg, s, s[i])
			}
		}
		_ = dsnStatus(err)
	})
}

// FuzzDSN: whatever the original headers and the remote reply, the DSN is
// a well-formed multipart/report whose status fields cannot be injected.
func FuzzDSN(f *testing.F) {
	f.Add([]byte("Subject: hi\r\nFrom: a@b\r\n"), "user unknown", "bob@example.test")
	f.Add([]byte("--=_\r\n\r\n--"), "x\r\nAction: delivered", "b@x")
	f.Add([]byte("Subject: h\xc3\xa9\r\n"), "caf\xc3\xa9", "j\xc3\xb6rg@example.test")
	q := &Queue{cfg: Config{Hostname: "mx.test", Postmaster: "MAILER-DAEMON@mx.test", Now: time.Now}}
	f.Fuzz(func(t *testing.T, headers []byte, reply, rcpt string) {
		if checkAddress(rcpt) != nil || domainOf(rcpt) == "" {
			return
		}
		orig := &record{Message: Message{ID: "0000000000000", From: "alice@sender.test", Received: time.Now()}}
		bounced := []result{{rcpt: rcpt, perm: true, err: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: reply}}}
		if quoted := minimalHeaders(headers); len(quoted) > maxQuotedHeader {
			t.Fatalf("quoted %d bytes of header, over %d", len(quoted), maxQuotedHeader)
		}
		_, data := q.buildDSN(orig, bounced, readHeaders(bytes.NewReader(headers), maxDSNHeaders), time.Now())
		msg, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("DSN does not parse: %v", err)
		}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		parts := 0
		for ; parts < 10; parts++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("part %d: %v", parts, err)
			}
			body, _ := io.ReadAll(p)
			if strings.Contains(p.Header.Get("Content-Type"), "delivery-status") {
				if n := bytes.Count(body, []byte("\nAction:")); n != 1 {
					t.Fatalf("%d Action fields in %q", n, body)
				}
			}
		}
		if parts != 3 {
			t.Fatalf("DSN has %d parts, want 3", parts)
		}
	})
}
