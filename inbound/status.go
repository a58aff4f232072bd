package inbound

import "time"

// DomainStatus is where one of our domains stands, from the reports of a
// window of days and the record published now: what `dmarcgate domain
// status` prints and the console's domain page shows. Its JSON is the
// output of `domain status --json`, an outside contract (CONTRACT.md):
// keys and their order change only together with that file.
type DomainStatus struct {
	Domain       string         `json:"domain"`
	Days         int            `json:"days"`
	From         string         `json:"from"` // first day, YYYY-MM-DD
	To           string         `json:"to"`   // last day, YYYY-MM-DD
	Messages     uint64         `json:"messages"`
	DMARCPass    uint64         `json:"dmarc_pass"`
	PassShare    float64        `json:"pass_share"`
	Reports      int            `json:"reports"`
	DaysObserved int            `json:"days_observed"`
	Reporters    []ReporterStat `json:"reporters"` // never null
	Sources      []*SourceStat  `json:"sources"`   // largest first, never null
	Policy       string         `json:"policy"`    // the published p=
	Record       string         `json:"record"`    // the published record's text
	Stage        string         `json:"stage"`
	Partial      string         `json:"partial,omitempty"`
	Next         string         `json:"next"`
	Verdict      string         `json:"verdict"`
	Reasons      []string       `json:"reasons"`
	Blockers     []Blocker      `json:"blockers"`
}

// StatusOf is the status of sum, a window of days, with the record pub
// published now, advised by rule. Like Advise it is pure.
func StatusOf(sum *Summary, days int, pub Published, rule Rule) *DomainStatus {
	adv := Advise(sum, days, pub, rule)
	st := &DomainStatus{Domain: sum.Domain, Days: days, From: sum.From.Format(time.DateOnly), To: sum.To.Format(time.DateOnly),
		Messages: sum.Messages, DMARCPass: sum.DMARCPass, Reports: sum.Reports, DaysObserved: sum.DaysObserved,
		Reporters: sum.Reporters, Sources: sum.Sources, Policy: pub.P, Record: pub.Record, Stage: adv.Stage,
		Partial: adv.Partial, Next: adv.Next, Verdict: adv.Verdict, Reasons: adv.Reasons, Blockers: adv.Blockers}
	if sum.Messages > 0 {
		st.PassShare = float64(sum.DMARCPass) / float64(sum.Messages)
	}
	if st.Reporters == nil {
		st.Reporters = []ReporterStat{}
	}
	if st.Sources == nil {
		st.Sources = []*SourceStat{}
	}
	return st
}
