package dmarcreport

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// Namespace is the XML namespace of RFC 9990 aggregate reports.
const Namespace = "urn:ietf:params:xml:ns:dmarc-2.0"

// ReportVersion is the <version> we emit, as in the RFC 9990 example.
const ReportVersion = "1.0"

// AggregateReport is one DMARC aggregate report (RFC 9990 §2.1, Appendix A).
// Its tags carry no namespace, so the parser reads namespaced RFC 9990
// reports and legacy RFC 7489 ones alike; Marshal adds the namespace.
type AggregateReport struct {
	XMLName   xml.Name        `xml:"feedback"`
	Version   string          `xml:"version,omitempty"`
	Metadata  ReportMetadata  `xml:"report_metadata"`
	Policy    PolicyPublished `xml:"policy_published"`
	Records   []ReportRecord  `xml:"record"`
	Namespace string          `xml:"-"` // as found by the parser ("" for legacy reports)
}

// ReportMetadata is report_metadata.
type ReportMetadata struct {
	OrgName          string    `xml:"org_name"`
	Email            string    `xml:"email"`
	ExtraContactInfo string    `xml:"extra_contact_info,omitempty"`
	ReportID         string    `xml:"report_id"`
	DateRange        DateRange `xml:"date_range"`
	// Error is at most one element in RFC 9990 (§2.1.4); a legacy report
	// with several keeps the last.
	Error     string `xml:"error,omitempty"`
	Generator string `xml:"generator,omitempty"`
}

// DateRange is the reporting period in seconds since the epoch, UTC.
type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

// PolicyPublished is the DMARC policy as the reporter found it.
type PolicyPublished struct {
	Domain          string `xml:"domain"`
	P               string `xml:"p"`
	SP              string `xml:"sp,omitempty"`
	NP              string `xml:"np,omitempty"`
	ADKIM           string `xml:"adkim,omitempty"`
	ASPF            string `xml:"aspf,omitempty"`
	DiscoveryMethod string `xml:"discovery_method,omitempty"`
	FO              string `xml:"fo,omitempty"`
	Testing         string `xml:"testing,omitempty"`
	Pct             string `xml:"pct,omitempty"` // RFC 7489 only; never emitted
}

// ReportRecord is one aggregated row with its identifiers and results.
type ReportRecord struct {
	Row         Row         `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

// Row is record/row.
type Row struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int64           `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

// PolicyEvaluated is the DMARC outcome for the row's messages.
type PolicyEvaluated struct {
	Disposition string         `xml:"disposition"`
	DKIM        string         `xml:"dkim"`
	SPF         string         `xml:"spf"`
	Reasons     []PolicyReason `xml:"reason"`
}

// PolicyReason is policy_evaluated/reason (RFC 9990 §2.1.5).
type PolicyReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

// Identifiers is record/identifiers.
type Identifiers struct {
	HeaderFrom   string `xml:"header_from"`
	EnvelopeFrom string `xml:"envelope_from,omitempty"`
	EnvelopeTo   string `xml:"envelope_to,omitempty"`
}

// AuthResults holds every DKIM result and the SPF result, uninterpreted.
type AuthResults struct {
	DKIM []DKIMAuthResult `xml:"dkim"`
	SPF  []SPFAuthResult  `xml:"spf"` // one in RFC 9990; legacy reports may hold more
}

// DKIMAuthResult is one DKIM signature's result (RFC 9990 §2.1.2).
type DKIMAuthResult struct {
	Domain      string `xml:"domain"`
	Selector    string `xml:"selector"`
	Result      string `xml:"result"`
	HumanResult string `xml:"human_result,omitempty"`
}

// SPFAuthResult is the SPF result.
type SPFAuthResult struct {
	Domain      string `xml:"domain"`
	Scope       string `xml:"scope,omitempty"`
	Result      string `xml:"result"`
	HumanResult string `xml:"human_result,omitempty"`
}

// MessageCount is the sum of the records' counts.
func (a *AggregateReport) MessageCount() int64 {
	var n int64
	for _, r := range a.Records {
		n += r.Row.Count
	}
	return n
}

// Marshal renders the report as an RFC 9990 document: XML declaration,
// root element in the dmarc-2.0 namespace, children inheriting it.
func (a *AggregateReport) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	c := *a
	c.Version = ReportVersion
	root := xml.StartElement{Name: xml.Name{Space: Namespace, Local: "feedback"}}
	if err := enc.EncodeElement(&c, root); err != nil {
		return nil, fmt.Errorf("dmarcreport: encoding report: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("dmarcreport: encoding report: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
