package dmarcreport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrNotReport: the input holds no <feedback> element.
var ErrNotReport = errors.New("dmarcreport: not a DMARC aggregate report")

// maxReportBytes bounds what the parser reads (and what an archive may
// expand to), so a hostile file cannot exhaust memory.
const maxReportBytes = 64 << 20

// ParseAggregate reads one aggregate report: RFC 9990 (namespaced) or
// legacy RFC 7489 (no namespace). It is lenient where real reporters are
// sloppy (stray text, unknown elements, odd whitespace, junk before the
// root element, Latin-1 declarations) and strict where the data would be
// wrong (not XML, no <feedback>, counts or dates that are not numbers).
func ParseAggregate(r io.Reader) (*AggregateReport, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: reading report: %w", err)
	}
	if len(data) > maxReportBytes {
		return nil, fmt.Errorf("dmarcreport: report larger than %d bytes", maxReportBytes)
	}
	if !utf8.Valid(data) && !declaresLatin1(data) {
		return nil, errors.New("dmarcreport: report is not valid UTF-8")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = charsetReader
	start, err := findFeedback(dec)
	if err != nil {
		return nil, err
	}
	rep := &AggregateReport{}
	if err := dec.DecodeElement(rep, &start); err != nil {
		return nil, fmt.Errorf("dmarcreport: malformed report: %w", err)
	}
	rep.Namespace = start.Name.Space
	rep.trim()
	if err := rep.check(); err != nil {
		return nil, err
	}
	return rep, nil
}

// findFeedback skips to the <feedback> start element, wherever it is: some
// reporters wrap it or put a stray element before it.
func findFeedback(dec *xml.Decoder) (xml.StartElement, error) {
	for i := 0; ; i++ {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.StartElement{}, ErrNotReport
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("dmarcreport: malformed report: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "feedback" {
			return se, nil
		}
		if i > 10000 {
			return xml.StartElement{}, ErrNotReport
		}
	}
}

// check refuses what no report consumer could use.
func (a *AggregateReport) check() error {
	if a.Metadata.ReportID == "" && a.Metadata.OrgName == "" && a.Policy.Domain == "" && len(a.Records) == 0 {
		return fmt.Errorf("%w: empty <feedback>", ErrNotReport)
	}
	for i, r := range a.Records {
		if r.Row.Count < 0 {
			return fmt.Errorf("dmarcreport: record %d: negative count", i+1)
		}
	}
	return nil
}

// trim removes the surrounding whitespace that some reporters leave in
// text values (tabs at line ends, indentation).
func (a *AggregateReport) trim() {
	m := &a.Metadata
	for _, s := range []*string{&a.Version, &m.OrgName, &m.Email, &m.ExtraContactInfo, &m.ReportID, &m.Error, &m.Generator} {
		*s = strings.TrimSpace(*s)
	}
	p := &a.Policy
	for _, s := range []*string{&p.Domain, &p.P, &p.SP, &p.NP, &p.ADKIM, &p.ASPF, &p.DiscoveryMethod, &p.FO, &p.Testing, &p.Pct} {
		*s = strings.TrimSpace(*s)
	}
	for i := range a.Records {
		a.Records[i].trim()
	}
}

func (r *ReportRecord) trim() {
	pe := &r.Row.PolicyEvaluated
	id := &r.Identifiers
	for _, s := range []*string{&r.Row.SourceIP, &pe.Disposition, &pe.DKIM, &pe.SPF, &id.HeaderFrom, &id.EnvelopeFrom, &id.EnvelopeTo} {
		*s = strings.TrimSpace(*s)
	}
	for i := range pe.Reasons {
		pe.Reasons[i].Type = strings.TrimSpace(pe.Reasons[i].Type)
		pe.Reasons[i].Comment = strings.TrimSpace(pe.Reasons[i].Comment)
	}
	for i := range r.AuthResults.DKIM {
		d := &r.AuthResults.DKIM[i]
		d.Domain, d.Selector, d.Result = strings.TrimSpace(d.Domain), strings.TrimSpace(d.Selector), strings.TrimSpace(d.Result)
		d.HumanResult = strings.TrimSpace(d.HumanResult)
	}
	for i := range r.AuthResults.SPF {
		s := &r.AuthResults.SPF[i]
		s.Domain, s.Scope, s.Result = strings.TrimSpace(s.Domain), strings.TrimSpace(s.Scope), strings.TrimSpace(s.Result)
		s.HumanResult = strings.TrimSpace(s.HumanResult)
	}
}

// declaresLatin1 reports whether the XML declaration names a single-byte
// charset that charsetReader converts.
func declaresLatin1(data []byte) bool {
	head := data[:min(len(data), 200)]
	end := bytes.Index(head, []byte("?>"))
	if !bytes.HasPrefix(head, []byte("<?xml")) || end < 0 {
		return false
	}
	decl := strings.ToLower(string(head[:end]))
	for _, cs := range latin1Names {
		if strings.Contains(decl, cs) {
			return true
		}
	}
	return false
}

var latin1Names = []string{"iso-8859-1", "latin1", "windows-1252", "us-ascii"}

// charsetReader converts Latin-1 (and its Windows superset, near enough
// for report text) to UTF-8; other declared charsets are refused.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	label = strings.ToLower(strings.TrimSpace(label))
	switch label {
	case "utf-8", "utf8":
		return input, nil
	}
	for _, cs := range latin1Names {
		if label == cs {
			data, err := io.ReadAll(io.LimitReader(input, maxReportBytes))
			if err != nil {
				return nil, err
			}
			runes := make([]rune, len(data))
			for i, b := range data {
				runes[i] = rune(b)
			}
			return strings.NewReader(string(runes)), nil
		}
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}
