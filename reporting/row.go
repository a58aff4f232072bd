package reporting

import (
	"crypto/sha256"
	"encoding/json"
	"net"
	"strings"

	"dmarcgate/policy"
)

// rowIdentity is what makes two messages share an aggregate row (RFC 9990
// §2.1): source, identifiers, every authentication result and the DMARC
// outcome. Field order is fixed, so equal rows encode to equal bytes.
type rowIdentity struct {
	SourceIP     string           `json:"ip"`
	HeaderFrom   string           `json:"hf"`
	EnvelopeFrom string           `json:"ef,omitempty"`
	EnvelopeTo   string           `json:"et,omitempty"`
	SPF          SPFAuthResult    `json:"spf"`
	DKIM         []DKIMAuthResult `json:"dkim,omitempty"`
	Disposition  string           `json:"disp"`
	DKIMAligned  string           `json:"dkimA"`
	SPFAligned   string           `json:"spfA"`
	Reasons      []PolicyReason   `json:"reasons,omitempty"`
}

// maxDKIMPerRow and maxCommentLen bound what one message can add to a row.
const (
	maxDKIMPerRow = 10
	maxCommentLen = 200
)

// rowFor builds the row identity of an evaluated message.
func rowFor(ev *Event) rowIdentity {
	d := ev.Decision
	row := rowIdentity{
		SourceIP:     ipString(ev.SourceIP),
		HeaderFrom:   cleanDomain(ev.HeaderFrom),
		EnvelopeFrom: domainOf(ev.EnvelopeFrom),
		EnvelopeTo:   firstRcptDomain(ev.EnvelopeTo),
		SPF:          spfAuth(ev.SPF),
		Disposition:  evaluatedDisposition(d),
		DKIMAligned:  passFail(d.DKIMAligned),
		SPFAligned:   passFail(d.SPFAligned),
	}
	for i, k := range ev.DKIM {
		if i == maxDKIMPerRow {
			break
		}
		row.DKIM = append(row.DKIM, DKIMAuthResult{
			Domain:   cleanDomain(k.Domain),
			Selector: cleanText(k.Selector, 255),
			Result:   oneOf(string(k.Result), dkimResults, "permerror"),
		})
	}
	for _, r := range d.Reasons {
		row.Reasons = append(row.Reasons, overrideReason(r))
	}
	return row
}

// key is the row's bucket key suffix: a hash of its encoding.
func (r *rowIdentity) encode() (key [16]byte, value []byte) {
	value, _ = json.Marshal(r) // plain strings and slices: cannot fail
	sum := sha256.Sum256(value)
	copy(key[:], sum[:16])
	return key, value
}

// record renders the row with its count as a report record.
func (r *rowIdentity) record(count int64) ReportRecord {
	rec := ReportRecord{
		Row: Row{SourceIP: r.SourceIP, Count: count, PolicyEvaluated: PolicyEvaluated{
			Disposition: r.Disposition, DKIM: r.DKIMAligned, SPF: r.SPFAligned, Reasons: r.Reasons,
		}},
		Identifiers: Identifiers{HeaderFrom: r.HeaderFrom, EnvelopeFrom: r.EnvelopeFrom, EnvelopeTo: r.EnvelopeTo},
		AuthResults: AuthResults{DKIM: r.DKIM},
	}
	if r.SPF.Domain != "" || r.SPF.Result != "" {
		rec.AuthResults.SPF = []SPFAuthResult{r.SPF}
	}
	return rec
}

// evaluatedDisposition is policy_evaluated/disposition (RFC 9990 §2.1):
// "pass" for mail that passed DMARC under an enforcing policy, else the
// disposition applied. The row keeps "pass"; the report shows it as the
// configured PassDisposition (periodRecords).
func evaluatedDisposition(d policy.Decision) string {
	if d.Result == policy.Pass && d.Disposition == policy.ActionNone &&
		(d.PolicyInForce == policy.ActionQuarantine || d.PolicyInForce == policy.ActionReject) {
		return "pass"
	}
	return oneOf(string(d.Disposition), []string{"none", "quarantine", "reject"}, "none")
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

var (
	dkimResults = []string{"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"}
	spfResults  = []string{"none", "pass", "fail", "softfail", "policy", "neutral", "temperror", "permerror"}
	// RFC 9990 PolicyOverrideType.
	overrideTypes = []string{"local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder"}
)

// spfAuth is the SPF result for auth_results. RFC 9990 knows only the
// "mfrom" scope; a HELO-derived result keeps no scope element.
func spfAuth(s policy.SPFResult) SPFAuthResult {
	out := SPFAuthResult{Domain: cleanDomain(s.Domain), Result: oneOf(string(s.Result), spfResults, "none")}
	if s.Scope == "mfrom" {
		out.Scope = "mfrom"
	}
	return out
}

// overrideReason maps a reason to RFC 9990's types; the RFC 7489 types it
// dropped (forwarded, sampled_out) become "other" with the old name kept
// in the comment.
func overrideReason(r policy.Reason) PolicyReason {
	t := string(r.Type)
	comment := cleanText(r.Comment, maxCommentLen)
	if oneOf(t, overrideTypes, "") == "" {
		if comment == "" {
			comment = cleanText(t, 40)
		} else {
			comment = cleanText(t, 40) + ": " + comment
		}
		t = "other"
	}
	return PolicyReason{Type: t, Comment: comment}
}

func oneOf(v string, allowed []string, fallback string) string {
	v = strings.ToLower(v)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return fallback
}

func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.String()
}

// firstRcptDomain is envelope_to: the recipient domain of the message (the
// first recipient's when they differ, so each message counts once).
func firstRcptDomain(rcpts []string) string {
	if len(rcpts) == 0 {
		return ""
	}
	return domainOf(rcpts[0])
}

func cleanDomain(s string) string {
	return strings.TrimSuffix(strings.ToLower(cleanText(s, 255)), ".")
}

// cleanText keeps what came from the wire safe for XML and logs: no control
// characters, no invalid UTF-8, bounded length.
func cleanText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
