package queue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// maxDSNHeaders bounds how much of the original header a DSN quotes.
const maxDSNHeaders = 64 << 10

// readHeaders returns the header section of a message (without the blank
// line that ends it), cut at a line boundary when longer than limit.
func readHeaders(r io.Reader, limit int) []byte {
	br := bufio.NewReader(io.LimitReader(r, int64(limit)))
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			// A partial last line (over the limit or a headers-only message).
			if err == bufio.ErrBufferFull || len(out)+len(line) >= limit {
				return out
			}
			return append(out, line...)
		}
		if bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")) {
			return out
		}
		out = append(out, line...)
	}
}

// A DSN quotes only the fields that let its reader tell which message
// bounced, each and all together bounded: the rest of the header is the
// sender's (possibly a forger's) text, which a bounce would carry to
// whoever the MAIL FROM names.
var dsnQuotedFields = map[string]bool{"date": true, "from": true, "to": true, "cc": true, "subject": true, "message-id": true}

const (
	maxQuotedField  = 998     // RFC 5322 §2.1.1's line limit, for a whole (folded) field
	maxQuotedHeader = 4 << 10 // all quoted fields
)

// minimalHeaders keeps the first of each dsnQuotedFields field of header,
// each cut to maxQuotedField bytes, up to maxQuotedHeader in all.
func minimalHeaders(header []byte) []byte {
	var out []byte
	seen := map[string]bool{}
	for _, f := range splitFields(header) {
		name, _, ok := bytes.Cut(f, []byte(":"))
		key := strings.ToLower(string(bytes.TrimSpace(name)))
		if !ok || !dsnQuotedFields[key] || seen[key] {
			continue
		}
		seen[key] = true
		f = cutField(f, maxQuotedField)
		if len(out)+len(f) > maxQuotedHeader {
			break
		}
		out = append(out, f...)
	}
	return out
}

// splitFields splits a header section into fields, each with its
// continuation lines and line ends.
func splitFields(header []byte) [][]byte {
	var fields [][]byte
	for len(header) > 0 {
		end := 0
		for {
			i := bytes.IndexByte(header[end:], '\n')
			if i < 0 {
				end = len(header)
				break
			}
			end += i + 1
			if end >= len(header) || (header[end] != ' ' && header[end] != '\t') {
				break
			}
		}
		fields = append(fields, header[:end])
		header = header[end:]
	}
	return fields
}

// cutField shortens a field to at most limit bytes, not inside a UTF-8
// sequence, ending it with CRLF.
func cutField(f []byte, limit int) []byte {
	f = bytes.TrimRight(f, "\r\n")
	if len(f) > limit {
		f = f[:limit]
		for len(f) > 0 && f[len(f)-1]&0xc0 == 0x80 {
			f = f[:len(f)-1]
		}
		if len(f) > 0 && f[len(f)-1] >= 0xc0 {
			f = f[:len(f)-1]
		}
		f = bytes.TrimRight(f, "\r\n")
	}
	return append(slices.Clip(f), '\r', '\n')
}

// buildDSN makes the delivery status notification (RFC 3464) for the
// recipients of orig that bounced in one attempt: a null-sender message
// to orig's envelope sender with a human part, a message/delivery-status
// part and the original headers.
func (q *Queue) buildDSN(orig *record, bounced []result, headers []byte, now time.Time) (*record, []byte) {
	headers = minimalHeaders(headers)
	utf8 := !isASCII(orig.From)
	for _, b := range bounced {
		utf8 = utf8 || !isASCII(b.rcpt)
	}
	dsn := q.newRecord(&Message{
		Kind:     KindDSN,
		Route:    RouteOutbound,
		From:     "",
		To:       []string{orig.From},
		UTF8:     utf8,
		Body8Bit: utf8 || !isASCII(string(headers)),
		Meta:     map[string]string{"original_id": orig.ID},
	})
	boundary := "=_" + dsn.ID + "/" + q.cfg.Hostname
	for bytes.Contains(headers, []byte(boundary)) {
		boundary += fmt.Sprintf("/%x", rand.Uint32()) // quoted text must not end a part
	}
	var b bytes.Buffer
	q.writeDSNHeader(&b, dsn, boundary, now)
	writeHumanPart(&b, boundary, q.cfg.Hostname, bounced)
	writeStatusPart(&b, boundary, q.cfg.Hostname, orig, bounced, utf8)
	headerType := "text/rfc822-headers"
	if !isASCII(string(headers)) {
		headerType = "message/global-headers" // RFC 6533 §6.3
	}
	fmt.Fprintf(&b, "--%s\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: %s\r\n\r\n", boundary, headerType)
	b.Write(crlf(headers))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	dsn.Size = int64(b.Len())
	return dsn, b.Bytes()
}

func (q *Queue) writeDSNHeader(b *bytes.Buffer, dsn *record, boundary string, now time.Time) {
	fmt.Fprintf(b, "From: Mail Delivery System <%s>\r\n", q.cfg.Postmaster)
	fmt.Fprintf(b, "To: <%s>\r\n", dsn.To[0])
	b.WriteString("Subject: Undelivered Mail Returned to Sender\r\n")
	fmt.Fprintf(b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(b, "Message-ID: <%s.dsn@%s>\r\n", dsn.ID, q.cfg.Hostname)
	b.WriteString("Auto-Submitted: auto-replied\r\n") // RFC 3834 §5
	b.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a MIME-encapsulated message.\r\n\r\n")
}

func writeHumanPart(b *bytes.Buffer, boundary, hostname string, bounced []result) {
	fmt.Fprintf(b, "--%s\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary)
	fmt.Fprintf(b, "This is the mail system at host %s.\r\n\r\n", hostname)
	b.WriteString("Your message could not be delivered to one or more recipients.\r\n")
	b.WriteString("The mail system's report for each of them follows.\r\n\r\n")
	for _, r := range bounced {
		fmt.Fprintf(b, "<%s>: %s\r\n", r.rcpt, publicText(r.err))
	}
	b.WriteString("\r\n")
}

// writeStatusPart writes the message/delivery-status part (RFC 3464 §2):
// per-message fields, then one block per recipient. Addresses that need
// UTF-8 use the global form of RFC 6533.
func writeStatusPart(b *bytes.Buffer, boundary, hostname string, orig *record, bounced []result, utf8 bool) {
	ctype, addrType := "message/delivery-status", "rfc822"
	if utf8 {
		ctype, addrType = "message/global-delivery-status", "utf-8"
	}
	fmt.Fprintf(b, "--%s\r\nContent-Description: Delivery report\r\nContent-Type: %s\r\n\r\n", boundary, ctype)
	fmt.Fprintf(b, "Reporting-MTA: dns; %s\r\n", hostname)
	fmt.Fprintf(b, "X-Queue-ID: %s\r\n", orig.ID)
	fmt.Fprintf(b, "Arrival-Date: %s\r\n", orig.Received.Format(time.RFC1123Z))
	for _, r := range bounced {
		fmt.Fprintf(b, "\r\nFinal-Recipient: %s; %s\r\n", addrType, r.rcpt)
		b.WriteString("Action: failed\r\n")
		fmt.Fprintf(b, "Status: %s\r\n", dsnStatus(r.err))
		if se := smtpError(r.err); se != nil {
			fmt.Fprintf(b, "Diagnostic-Code: smtp; %s\r\n", replyText(se))
		}
	}
	b.WriteString("\r\n")
}

// dsnStatus is the RFC 3463 status code for a failure: the reply's
// enhanced code, else one derived from its class; 4.4.7 for a give-up with
// no better code (delivery time expired).
func dsnStatus(err error) string {
	var expired *expiredError
	se := smtpError(err)
	switch {
	case se != nil && valid(se.EnhancedCode) && se.EnhancedCode[0] == se.Code/100:
		return fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	case errors.As(err, &expired):
		return "4.4.7"
	case se != nil && se.Code/100 == 5:
		return "5.0.0"
	default:
		return "4.0.0"
	}
}

func smtpError(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

func valid(c smtp.EnhancedCode) bool {
	return (c[0] == 2 || c[0] == 4 || c[0] == 5) && c[1] >= 0 && c[2] >= 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// crlf makes every line end in CRLF, including a last unterminated one.
func crlf(b []byte) []byte {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return []byte(s)
}
