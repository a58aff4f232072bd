package reporting

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Attachment is one file of a report message.
type Attachment struct {
	Name        string // file name (token characters only)
	ContentType string
	Data        []byte
}

// ReportMail is a report message to build: plain text for people, then
// the attachments (RFC 9990 §2.5.1: MIME, the report as an attachment).
type ReportMail struct {
	From, FromName string
	To             []string
	Subject        string
	Date           time.Time
	Hostname       string // right side of the Message-ID
	Text           string
	Attachments    []Attachment
}

// Build renders the message with CRLF line ends. Header values must be
// ASCII without CR or LF (the caller cleans them); the display name is
// encoded as needed.
func (m *ReportMail) Build() ([]byte, error) {
	if len(m.To) == 0 {
		return nil, fmt.Errorf("reporting: report mail without recipients")
	}
	for _, v := range append([]string{m.From, m.Subject, m.Hostname}, m.To...) {
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("reporting: header value %q holds a line break", v)
		}
	}
	boundary, err := randomToken(12)
	if err != nil {
		return nil, err
	}
	msgID, err := randomToken(12)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	from := (&mail.Address{Name: m.FromName, Address: m.From}).String()
	header(&b, "From", from)
	header(&b, "To", foldAddresses(m.To))
	header(&b, "Subject", m.Subject)
	header(&b, "Date", m.Date.Format(time.RFC1123Z))
	header(&b, "Message-ID", "<"+msgID+"@"+m.Hostname+">")
	header(&b, "MIME-Version", "1.0")
	// RFC 3834: automatic mail; receivers must not answer it automatically.
	header(&b, "Auto-Submitted", "auto-generated")
	header(&b, "Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	m.writeParts(&b, boundary)
	return b.Bytes(), nil
}

// writeParts writes the text part, the attachments and the closing
// boundary.
func (m *ReportMail) writeParts(b *bytes.Buffer, boundary string) {
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(crlf(m.Text)))
	qp.Close()
	for _, a := range m.Attachments {
		fmt.Fprintf(b, "\r\n--%s\r\n", boundary)
		fmt.Fprintf(b, "Content-Type: %s; name=\"%s\"\r\n", a.ContentType, a.Name)
		b.WriteString("Content-Transfer-Encoding: base64\r\n")
		fmt.Fprintf(b, "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n", a.Name)
		writeBase64(b, a.Data)
	}
	fmt.Fprintf(b, "\r\n--%s--\r\n", boundary)
}

func header(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(value)
	b.WriteString("\r\n")
}

// foldAddresses writes one address per line, so a long list stays within
// the line length limit (RFC 5322 §2.1.1).
func foldAddresses(to []string) string {
	parts := make([]string, len(to))
	for i, a := range to {
		parts[i] = (&mail.Address{Address: a}).String()
	}
	return strings.Join(parts, ",\r\n ")
}

func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}

// crlf makes every line end in CRLF and the text end with one.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reporting: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data) // writes to a bytes.Buffer do not fail
	zw.Close()
	return b.Bytes()
}

// aggregateFileName is RFC 9990 §2.5.1's
// receiver "!" policy-domain "!" begin "!" end "!" unique-id ".xml.gz".
func aggregateFileName(receiver string, s *aggState) string {
	return fmt.Sprintf("%s!%s!%d!%d!%s.xml.gz", receiver, s.Domain, s.Begin, s.End, s.Unique)
}

// aggregateSubject is RFC 9990 §2.5.1's Subject:
// "Report Domain:" domain "Submitter:" domain "Report-ID:" msg-id.
func aggregateSubject(receiver string, s *aggState) string {
	return fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", s.Domain, receiver, s.ID)
}

func aggregateText(orgName, receiver string, s *aggState) string {
	return fmt.Sprintf("This is a DMARC aggregate report (RFC 9990) from %s (%s)\n"+
		"for %s, covering %s to %s UTC: %d messages in %d rows.\n"+
		"Report-ID: %s\n",
		orgName, receiver, s.Domain,
		time.Unix(s.Begin, 0).UTC().Format("2006-01-02 15:04:05"),
		time.Unix(s.End, 0).UTC().Format("2006-01-02 15:04:05"),
		s.Count, s.Rows, s.ID)
}
