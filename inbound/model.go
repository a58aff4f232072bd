package inbound

import (
	"net"
	"sort"
	"strings"
	"time"

	"dmarcgate/dmarcreport"
)

// Report is one aggregate report as the store keeps it: who sent it, the
// policy they found, and its records summed per distinct row (a report
// lists the same source several times when only envelope_to differs).
type Report struct {
	Domain   string // policy_published/domain, lower case
	Reporter string // the dedup identity: email, else org name, lower case
	ReportID string
	Org      string
	Email    string
	Begin    time.Time
	End      time.Time
	Policy   PublishedPolicy
	RFC9990  bool // namespaced (RFC 9990) rather than legacy RFC 7489
	Rows     []Row
}

// PublishedPolicy is policy_published as the reporter saw it.
type PublishedPolicy struct {
	P, SP, Pct, Testing, ADKIM, ASPF string
}

// Row is the sum of a report's records that agree on everything but the
// count.
type Row struct {
	SourceIP    string
	Count       uint64
	Disposition string // none, quarantine, reject (pass: RFC 9990's none)
	DKIMAligned bool   // policy_evaluated/dkim = pass
	SPFAligned  bool   // policy_evaluated/spf = pass
	HeaderFrom  string
	SPFDomain   string
	SPFResult   string
	DKIM        string // "d=result" pairs of the auth_results, space-separated
	Reasons     string // policy override reason types, space-separated
}

// DMARCPass: aligned DKIM or aligned SPF passed (RFC 9989 §4.4).
func (r *Row) DMARCPass() bool { return r.DKIMAligned || r.SPFAligned }

// Day is the report's day: that of the start of its period, UTC.
func (r *Report) Day() uint32 { return dayOf(r.Begin) }

func dayOf(t time.Time) uint32 {
	d := t.Unix() / 86400
	if d < 0 {
		return 0
	}
	return uint32(d)
}

// DayTime is the start (UTC) of a day number as the store counts them.
func DayTime(day uint32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// Messages is the report's volume.
func (r *Report) Messages() uint64 {
	var n uint64
	for i := range r.Rows {
		n += r.Rows[i].Count
	}
	return n
}

// FromAggregate turns a parsed report into what the store keeps. The
// enumerated values are compared in lower case: "Pass" is read as pass.
func FromAggregate(a *dmarcreport.AggregateReport) *Report {
	m := a.Metadata
	p := a.Policy
	r := &Report{
		Domain:   normDomain(p.Domain),
		ReportID: m.ReportID,
		Org:      m.OrgName,
		Email:    strings.ToLower(m.Email),
		Begin:    time.Unix(m.DateRange.Begin, 0).UTC(),
		End:      time.Unix(m.DateRange.End, 0).UTC(),
		Policy: PublishedPolicy{P: lower(p.P), SP: lower(p.SP), Pct: p.Pct, Testing: lower(p.Testing),
			ADKIM: lower(p.ADKIM), ASPF: lower(p.ASPF)},
		RFC9990: a.Namespace == dmarcreport.Namespace,
	}
	r.Reporter = r.Email
	if r.Reporter == "" {
		r.Reporter = strings.ToLower(r.Org)
	}
	r.Rows = sumRows(a.Records)
	return r
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normDomain(d string) string { return strings.TrimSuffix(lower(d), ".") }

// sumRows folds the records into rows, in a stable order.
func sumRows(recs []dmarcreport.ReportRecord) []Row {
	idx := make(map[Row]int, len(recs))
	var rows []Row
	for i := range recs {
		row := rowOf(&recs[i])
		n := row.Count
		row.Count = 0
		if j, ok := idx[row]; ok {
			rows[j].Count += n
			continue
		}
		idx[row] = len(rows)
		row.Count = n
		rows = append(rows, row)
	}
	return rows
}

func rowOf(rec *dmarcreport.ReportRecord) Row {
	pe := rec.Row.PolicyEvaluated
	row := Row{
		SourceIP:    canonicalIP(rec.Row.SourceIP),
		Count:       uint64(max(rec.Row.Count, 0)),
		Disposition: lower(pe.Disposition),
		DKIMAligned: lower(pe.DKIM) == "pass",
		SPFAligned:  lower(pe.SPF) == "pass",
		HeaderFrom:  normDomain(rec.Identifiers.HeaderFrom),
	}
	if row.Disposition == "pass" {
		row.Disposition = "none" // RFC 9990's pass: nothing was applied
	}
	if spf := rec.AuthResults.SPF; len(spf) > 0 {
		row.SPFDomain, row.SPFResult = normDomain(spf[0].Domain), lower(spf[0].Result)
	}
	var dkim []string
	for _, d := range rec.AuthResults.DKIM {
		dkim = append(dkim, normDomain(d.Domain)+"="+lower(d.Result))
	}
	sort.Strings(dkim)
	row.DKIM = strings.Join(dkim, " ")
	var reasons []string
	for _, rs := range pe.Reasons {
		if t := lower(rs.Type); t != "" {
			reasons = append(reasons, t)
		}
	}
	row.Reasons = strings.Join(reasons, " ")
	return row
}

// canonicalIP writes an address one way (IPv6 compressed, IPv4 dotted), so
// one source is one source whatever the reporter's spelling.
func canonicalIP(s string) string {
	s = strings.TrimSpace(s)
	if ip := net.ParseIP(s); ip != nil {
		return ip.String()
	}
	return s
}
