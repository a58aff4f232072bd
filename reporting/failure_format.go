package reporting

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
)

// reportFormat is what rendering a failure report needs beyond the
// pending report itself.
type reportFormat struct {
	From      string // reporting address
	OrgName   string
	Hostname  string // Message-ID domain
	UserAgent string
	Redact    *redactor // nil: addresses shown as they are
	Now       time.Time
}

// renderedReport is one report message ready for the queue.
type renderedReport struct {
	Data      []byte
	MessageID string
	EightBit  bool // some part carries 8-bit text (an SMTPUTF8 original)
}

// renderFailureReport builds the RFC 6591 message for one destination:
// multipart/report; report-type=feedback-report with a human-readable part,
// the message/feedback-report part, and the original's header
// (text/rfc822-headers) or the whole original (message/rfc822) when its
// body was kept (RFC 5965 §2, RFC 6591 §3, RFC 9991 §4).
func renderFailureReport(p *pendingFailure, dest string, f reportFormat) (*renderedReport, error) {
	if err := checkDestAddress(dest); err != nil {
		return nil, fmt.Errorf("reporting: destination: %w", err)
	}
	boundary, msgID, err := newFailureIDs(f.Hostname)
	if err != nil {
		return nil, err
	}
	original := p.Header
	if f.Redact != nil {
		original = f.Redact.header(original)
	}
	original = crlfLines(original)
	body := p.Body
	if f.Redact != nil && len(body) > 0 {
		body = f.Redact.text(body)
	}
	var b bytes.Buffer
	writeFailureHeader(&b, p, dest, msgID, boundary, f)
	b.WriteString("This is a MIME-formatted message: a DMARC failure report (RFC 9991).\r\n")
	writeFailurePart(&b, boundary, "text/plain; charset=us-ascii", "inline", "7bit")
	b.WriteString(failureSummary(p, f))
	writeFailurePart(&b, boundary, "message/feedback-report", "", "7bit")
	b.WriteString(failureFeedbackFields(p, f))
	origType := "text/rfc822-headers"
	if len(p.Body) > 0 {
		origType = "message/rfc822"
	}
	eight := hasHighBit(original) || hasHighBit(body)
	writeFailurePart(&b, boundary, origType, "", cteFor(eight))
	b.Write(original)
	if len(p.Body) > 0 {
		if !bytes.HasSuffix(original, []byte("\r\n\r\n")) {
			b.WriteString("\r\n") // the empty line that ends the header
		}
		b.Write(crlfLines(body))
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return &renderedReport{Data: b.Bytes(), MessageID: msgID, EightBit: eight}, nil
}

func writeFailureHeader(b *bytes.Buffer, p *pendingFailure, dest, msgID, boundary string, f reportFormat) {
	from := f.From
	if f.OrgName != "" {
		from = mime.QEncoding.Encode("utf-8", f.OrgName) + " <" + f.From + ">"
		if plainDisplayName(f.OrgName) {
			from = `"` + f.OrgName + `" <` + f.From + ">"
		}
	}
	fmt.Fprintf(b, "From: %s\r\n", from)
	fmt.Fprintf(b, "To: <%s>\r\n", dest)
	fmt.Fprintf(b, "Date: %s\r\n", f.Now.Format(time.RFC1123Z))
	fmt.Fprintf(b, "Subject: DMARC failure report for %s from IP %s\r\n", p.HeaderFrom, p.SourceIP)
	fmt.Fprintf(b, "Message-ID: <%s>\r\n", msgID)
	b.WriteString("MIME-Version: 1.0\r\n")
	// RFC 3834 §5: no automatic replies to this message.
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	fmt.Fprintf(b, "Content-Type: multipart/report; report-type=feedback-report;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
}

func writeFailurePart(b *bytes.Buffer, boundary, ctype, disposition, cte string) {
	fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: %s\r\n", boundary, ctype)
	if disposition != "" {
		fmt.Fprintf(b, "Content-Disposition: %s\r\n", disposition)
	}
	fmt.Fprintf(b, "Content-Transfer-Encoding: %s\r\n\r\n", cte)
}

// failureFeedbackFields writes the message/feedback-report fields in the order of
// RFC 9991's example: the ARF fields of RFC 5965 §3.1-3.2 and the
// auth-failure fields of RFC 6591 §3 as updated by RFC 9991 §4.
func failureFeedbackFields(p *pendingFailure, f reportFormat) string {
	var b strings.Builder
	field := func(name, value string) {
		if value = oneLineField(name, value); value != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", name, value)
		}
	}
	field("Feedback-Type", "auth-failure")
	field("Version", "1")
	field("User-Agent", f.UserAgent)
	field("Auth-Failure", p.AuthFailure)
	ar := p.AuthResults
	if f.Redact != nil {
		ar = string(f.Redact.text([]byte(ar)))
	}
	field("Authentication-Results", ar)
	field("Identity-Alignment", p.IdentityAlignment)
	if p.DKIMDomain != "" {
		field("DKIM-Domain", p.DKIMDomain)
		field("DKIM-Identity", "@"+p.DKIMDomain) // the i= default (RFC 6376 §3.5)
		field("DKIM-Selector", p.DKIMSelector)
	}
	field("SPF-DNS", p.SPFDNS)
	field("Original-Envelope-Id", p.QueueID)
	field("Original-Mail-From", "<"+redactMailbox(f.Redact, p.EnvelopeFrom)+">")
	for _, r := range p.EnvelopeTo {
		field("Original-Rcpt-To", "<"+redactMailbox(f.Redact, r)+">")
	}
	field("Arrival-Date", p.Arrival.Format(time.RFC1123Z))
	field("Source-IP", p.SourceIP)
	if p.SourcePort > 0 {
		field("Source-Port", strconv.Itoa(p.SourcePort)) // RFC 6692: wherever Source-IP is
	}
	field("Reported-Domain", p.HeaderFrom)
	field("Delivery-Result", p.DeliveryResult)
	return b.String()
}

// maxLine is RFC 5322 §2.1.1's limit of a line, without its CRLF.
const maxLine = 998

// oneLineField unfolds a field value: report readers (parsedmarc among
// them) read each field of the feedback-report part as one line, and cut
// a folded one at its first line. Line breaks with the blanks around them
// become one space, other control characters go. A value whose line would
// pass 998 octets is cut at its last ";" that fits (a whole
// Authentication-Results method), else at the limit.
func oneLineField(name, value string) string {
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '\r' || c == '\n':
			trimmed := strings.TrimRight(b.String(), " \t")
			b.Reset()
			b.WriteString(trimmed)
			b.WriteByte(' ')
			for i+1 < len(value) && strings.IndexByte(" \t\r\n", value[i+1]) >= 0 {
				i++
			}
		case c == '\t':
			b.WriteByte(' ')
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	out := strings.TrimSpace(b.String())
	if room := maxLine - len(name) - 2; len(out) > room {
		cut := strings.LastIndexByte(out[:room], ';')
		if cut <= 0 {
			cut = room
		}
		out = strings.TrimSpace(out[:cut])
	}
	return out
}

// redactMailbox renders an envelope address for a field: local part
// quoted when it needs to be (RFC 5321 §4.1.2), then redacted.
func redactMailbox(r *redactor, a string) string {
	a = quoteLocalPart(a)
	if r == nil {
		return a
	}
	return r.address(a)
}

// quoteLocalPart re-quotes a local part that is not a dot-string, as the
// SMTP server hands addresses over unquoted.
func quoteLocalPart(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 {
		return a
	}
	local, domain := a[:at], a[at:]
	if isDotString(local) {
		return a
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"` + domain
}

// isDotString: atoms of atext joined by single dots (RFC 5321 §4.1.2).
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 { // SMTPUTF8 local parts (RFC 6531 §3.3)
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0) {
			return false
		}
	}
	return true
}

// failureSummary is the first part: what happened, in plain words, without
// any address (the sample and the fields carry those, redacted or not).
func failureSummary(p *pendingFailure, f reportFormat) string {
	var b strings.Builder
	fmt.Fprintf(&b, "This is an authentication failure report for an email message\r\n")
	fmt.Fprintf(&b, "received from IP %s on %s.\r\n\r\n", p.SourceIP, p.Arrival.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Reported domain: %s (DMARC policy found at %s)\r\n", p.HeaderFrom, p.PolicyDomain)
	fmt.Fprintf(&b, "DMARC result: %s; policy in force: %s; disposition: %s\r\n", p.DMARCResult, p.PolicyInForce, p.Disposition)
	fmt.Fprintf(&b, "Failure type: %s (requested by fo=%s)\r\n", p.AuthFailure, p.Option)
	fmt.Fprintf(&b, "Mechanisms without an aligned pass: %s\r\n", p.IdentityAlignment)
	if p.Body == nil {
		b.WriteString("\r\nThe third part holds the header of the message; its body is not included.\r\n")
	}
	if f.Redact != nil {
		b.WriteString("Local parts of addresses have been replaced by keyed hashes (RFC 6590).\r\n")
	}
	return b.String()
}

func newFailureIDs(hostname string) (boundary, msgID string, err error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", "", fmt.Errorf("reporting: random: %w", err)
	}
	h := hex.EncodeToString(r[:])
	if hostname == "" {
		hostname = "localhost"
	}
	return "=_failure_" + h[:24], "failure-" + h + "@" + hostname, nil
}

// crlfLines turns bare LF line ends into CRLF, leaving existing CRLF alone.
func crlfLines(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func hasHighBit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func cteFor(eight bool) string {
	if eight {
		return "8bit"
	}
	return "7bit"
}

// plainDisplayName reports whether s can go in a quoted display name as is.
func plainDisplayName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// checkDestAddress refuses what must never reach a header: control
// characters (CR, LF, NUL) and angle brackets.
func checkDestAddress(s string) error {
	if s == "" || len(s) > 998 {
		return fmt.Errorf("bad length %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '<' || c == '>' {
			return fmt.Errorf("invalid character in %q", s)
		}
	}
	return nil
}
