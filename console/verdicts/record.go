// Package verdicts keeps the recent verdicts of the gateway (metadata only:
// the fields of the per-message log line, never message content) in a
// bounded ring in the state database, with counts per hour by outcome.
// It is the console's one store; it decides nothing and serves no pages.
package verdicts

import "time"

// Outcomes: what the client was told.
const (
	Accepted    = "accepted"
	Quarantined = "quarantined" // accepted, but for the quarantine (header or hold)
	Rejected    = "rejected"    // a 5xx reply
	TempFailed  = "tempfailed"  // a 4xx reply
)

// Outcomes lists them in the order pages show them.
var Outcomes = []string{Accepted, Quarantined, Rejected, TempFailed}

// Record is one decided message.
type Record struct {
	Seq         uint64    `json:"-"` // position in the ring, set when stored
	Time        time.Time `json:"t"`
	ClientIP    string    `json:"ip"`
	HELO        string    `json:"helo,omitempty"`
	MailFrom    string    `json:"mf"`
	Rcpts       int       `json:"rc"`
	Size        int64     `json:"sz"`
	FromDomain  string    `json:"fd"`
	SPF         string    `json:"spf"`
	SPFDomain   string    `json:"spfd,omitempty"`
	SPFReason   string    `json:"spfr,omitempty"`
	DKIM        []string  `json:"dkim,omitempty"` // "domain=result (reason)"
	DMARC       string    `json:"dmarc"`
	Policy      string    `json:"pol,omitempty"`
	Disposition string    `json:"disp"`
	ARC         string    `json:"arc,omitempty"`
	ARCReason   string    `json:"arcr,omitempty"`
	Override    string    `json:"ovr,omitempty"` // "action (reason): comment" of the override that applied
	Action      string    `json:"act"`           // deliver, quarantine, hold, reject, tempfail, bad-from, malformed
	Outcome     string    `json:"out"`
	Reply       int       `json:"reply"`
	Why         string    `json:"why,omitempty"`
	QueueID     string    `json:"qid,omitempty"`
	AuthResults string    `json:"ar,omitempty"`
}

// Failing reports whether DMARC did not pass for a From domain that has a
// policy evaluation (none is not a failure: there is no policy).
func (r *Record) Failing() bool { return failing(r.DMARC) }

// Failing reports whether DMARC did not pass (see Record.Failing).
func (b *Brief) Failing() bool { return failing(b.DMARC) }

func failing(result string) bool {
	return result == "fail" || result == "permerror" || result == "temperror"
}
