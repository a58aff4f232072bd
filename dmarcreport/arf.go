package dmarcreport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
)

// ErrNoFeedbackReport: the message has no message/feedback-report part, so
// it is not an ARF report (RFC 5965 §2), whatever its Subject says.
var ErrNoFeedbackReport = errors.New("dmarcreport: no message/feedback-report part")

// Parser bounds: a hostile message cannot make the parser read, nest or
// loop without limit.
const (
	maxFailureReportBytes = 32 << 20
	maxARFDepth           = 8
	maxARFParts           = 200
	maxARFFields          = 1000
	maxARFFieldBytes      = 64 << 10
)

// ARFField is one field of the message/feedback-report part, unfolded.
type ARFField struct {
	Name  string // as written, e.g. "Auth-Failure"
	Value string // trimmed
}

// FailureReport is a parsed ARF report (RFC 5965) such as a DMARC failure
// report (RFC 6591, RFC 9991).
type FailureReport struct {
	Subject string
	// ReportType is the report-type parameter of a multipart/report
	// top level ("feedback-report"); "" when the top level is another type.
	ReportType string
	// Human is the first text/plain part, decoded.
	Human string
	// Fields are the message/feedback-report fields in order.
	Fields []ARFField
	// OriginalType is the media type of the part holding the original
	// (message/rfc822 or text/rfc822-headers); "" when absent.
	OriginalType string
	// OriginalHeader is the original's header block; OriginalHasBody says
	// whether a body followed it.
	OriginalHeader  []byte
	OriginalHasBody bool
}

// Get returns the first value of a field (case-insensitive name), or "".
func (r *FailureReport) Get(name string) string {
	for _, f := range r.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value of a field, in order.
func (r *FailureReport) Values(name string) []string {
	var out []string
	for _, f := range r.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Has reports whether the field is present.
func (r *FailureReport) Has(name string) bool { return r.Values(name) != nil }

// ParseFailureReport reads an ARF report: it finds the
// message/feedback-report part at any depth (also inside multipart/mixed,
// as some reporters send), decodes base64 or quoted-printable parts, and
// returns the fields, the human-readable text and the original's header.
func ParseFailureReport(r io.Reader) (*FailureReport, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFailureReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: reading failure report: %w", err)
	}
	if len(data) > maxFailureReportBytes {
		return nil, fmt.Errorf("dmarcreport: failure report larger than %d bytes", maxFailureReportBytes)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: malformed message header: %w", err)
	}
	rep := &FailureReport{Subject: msg.Header.Get("Subject")}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("%w: top level is %q, not multipart", ErrNoFeedbackReport, msg.Header.Get("Content-Type"))
	}
	if mt == "multipart/report" {
		rep.ReportType = strings.ToLower(params["report-type"])
	}
	w := &arfWalker{rep: rep}
	if err := w.multipart(msg.Body, params["boundary"], 0); err != nil {
		return nil, err
	}
	if !w.found {
		return nil, ErrNoFeedbackReport
	}
	if !rep.Has("Feedback-Type") {
		return nil, errors.New("dmarcreport: feedback report has no Feedback-Type field")
	}
	return rep, nil
}

// arfWalker visits the parts of a report, counting them.
type arfWalker struct {
	rep   *FailureReport
	parts int
	found bool
}

func (w *arfWalker) multipart(body io.Reader, boundary string, depth int) error {
	if boundary == "" {
		return errors.New("dmarcreport: multipart without a boundary")
	}
	if depth >= maxARFDepth {
		return errors.New("dmarcreport: MIME parts nested too deep")
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if w.found {
				return nil // trailing junk after what we need
			}
			return fmt.Errorf("dmarcreport: malformed MIME structure: %w", err)
		}
		if w.parts++; w.parts > maxARFParts {
			return errors.New("dmarcreport: too many MIME parts")
		}
		if err := w.part(p, depth); err != nil {
			return err
		}
	}
}

func (w *arfWalker) part(p *multipart.Part, depth int) error {
	ct := p.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
	}
	// The aggregate-report reader's decoder, with its size bound.
	decoded, err := DecodeTransfer(p.Header.Get("Content-Transfer-Encoding"), p)
	if err != nil {
		if mt == "message/feedback-report" && !w.found {
			return err
		}
		return nil // a broken part we do not need
	}
	content := bytes.NewReader(decoded)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		return w.multipart(content, params["boundary"], depth+1)
	case mt == "message/feedback-report" && !w.found:
		fields, err := parseARFFields(content)
		if err != nil {
			return err
		}
		w.rep.Fields, w.found = fields, true
	case (mt == "message/rfc822" || mt == "text/rfc822-headers") && w.rep.OriginalType == "":
		return w.original(mt, decoded)
	case mt == "text/plain" && w.rep.Human == "" && !w.found:
		w.rep.Human = string(decoded)
	}
	return nil
}

func (w *arfWalker) original(mt string, b []byte) error {
	w.rep.OriginalType = mt
	hdr, body := arfSplitHeader(b)
	w.rep.OriginalHeader = hdr
	w.rep.OriginalHasBody = len(bytes.TrimSpace(body)) > 0
	return nil
}

// arfSplitHeader cuts a message at its first empty line.
func arfSplitHeader(b []byte) (hdr, body []byte) {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		if len(bytes.TrimRight(b[i:i+j+1], "\r\n")) == 0 {
			return b[:i], b[i+j+1:]
		}
		i += j + 1
	}
	return b, nil
}

// parseARFFields reads the fields of a message/feedback-report part: the
// syntax of header fields (RFC 5965 §3.1), order and repetition kept.
// Leading empty lines are skipped; parsing stops at the first empty line
// after a field.
func parseARFFields(r io.Reader) ([]ARFField, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var fields []ARFField
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(fields) > 0 {
				return fields, nil
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(fields) == 0 {
				return nil, errors.New("dmarcreport: feedback report starts with a continuation line")
			}
			f := &fields[len(fields)-1]
			if len(f.Value)+len(line) > maxARFFieldBytes {
				return nil, fmt.Errorf("dmarcreport: feedback report field %s longer than %d bytes", f.Name, maxARFFieldBytes)
			}
			f.Value = strings.TrimSpace(f.Value + " " + strings.TrimSpace(line))
		default:
			name, value, ok := strings.Cut(line, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("dmarcreport: malformed feedback report line %q", arfTruncate(line, 60))
			}
			if len(fields) >= maxARFFields {
				return nil, errors.New("dmarcreport: too many feedback report fields")
			}
			fields = append(fields, ARFField{Name: textproto.TrimString(name), Value: strings.TrimSpace(value)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dmarcreport: reading feedback report: %w", err)
	}
	if len(fields) == 0 {
		return nil, errors.New("dmarcreport: empty feedback report part")
	}
	return fields, nil
}

func arfTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
