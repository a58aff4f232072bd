package reporting

import "dmarcgate/dmarcreport"

// Namespace is the XML namespace of RFC 9990 aggregate reports.
const Namespace = dmarcreport.Namespace

// The aggregate report's types are dmarcreport's (the format as data,
// shared with the reports we receive); reporting builds and sends them.
type (
	AggregateReport = dmarcreport.AggregateReport
	ReportMetadata  = dmarcreport.ReportMetadata
	DateRange       = dmarcreport.DateRange
	PolicyPublished = dmarcreport.PolicyPublished
	ReportRecord    = dmarcreport.ReportRecord
	Row             = dmarcreport.Row
	PolicyEvaluated = dmarcreport.PolicyEvaluated
	PolicyReason    = dmarcreport.PolicyReason
	Identifiers     = dmarcreport.Identifiers
	AuthResults     = dmarcreport.AuthResults
	DKIMAuthResult  = dmarcreport.DKIMAuthResult
	SPFAuthResult   = dmarcreport.SPFAuthResult
)
