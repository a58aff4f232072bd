// Package reporting builds and sends DMARC aggregate (RFC 9990) and failure
// (RFC 9991) reports from the evaluations that smtpd records.
package reporting

import (
	"net"
	"time"

	"dmarcgate/policy"
)

// Event is everything one evaluated message contributes to reports. smtpd
// fills it at the end of DATA, for delivered, quarantined and rejected mail.
type Event struct {
	Time         time.Time
	QueueID      string // "" when the message was rejected
	SourceIP     net.IP
	SourcePort   int // the client's TCP port; 0 when not known
	HELO         string
	EnvelopeFrom string   // MAIL FROM address ("" for the null sender)
	EnvelopeTo   []string // RCPT TO addresses
	HeaderFrom   string   // RFC5322.From domain
	SPF          policy.SPFResult
	DKIM         []policy.DKIMResult
	Discovery    *policy.Discovery // nil when no policy was found
	Decision     policy.Decision
	// Header is the original header block (for failure reports); AuthResults
	// our Authentication-Results field for it.
	Header      []byte
	AuthResults string
	MessageID   string
	// Original returns up to n bytes of the message as received, for
	// failure reports with include_body; nil when it cannot be had. It is
	// only called when such a report is due, so no message pays for a copy
	// it does not need.
	Original func(n int) []byte
}
