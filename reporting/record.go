package reporting

import (
	"bytes"
	"encoding/json"
	"strings"

	"go.etcd.io/bbolt"

	"dmarcgate/policy"
)

// Record returns the change that adds ev to its aggregate row, to be run
// inside the message's own durable commit (smtpd.Recorder): the count
// survives a crash exactly when the message does, and costs no fsync of
// its own. It returns nil when there is nothing to record: no policy, no
// mailto: rua, or mail to our own reporting address (no reports about
// reports). Everything but the bucket access is computed here, outside
// the transaction. The period is that of the commit time, not ev.Time:
// what a closed period holds must never change.
func (r *Reporter) Record(ev *Event) func(tx *bbolt.Tx) error {
	if !r.config().Enabled || ev == nil || ev.Discovery == nil || ev.Discovery.Record == nil {
		return nil
	}
	if r.toOurselves(ev.EnvelopeTo) {
		return nil
	}
	pol := policyOf(ev.Discovery)
	if len(pol.RUA) == 0 || pol.Domain == "" {
		return nil
	}
	polJSON, _ := json.Marshal(pol) // strings only: cannot fail
	row := rowFor(ev)
	hash, rowJSON := row.encode()
	domain := pol.Domain
	return func(tx *bbolt.Tx) error {
		// The period is chosen here, inside the transaction, so that a
		// period closed by Send (which commits after moving openFrom)
		// never receives a late row.
		period := openPeriod(r.config().Now(), r.config().Interval, r.openFrom.Load())
		if err := putPolicy(tx, periodDomainKey(period, domain), polJSON); err != nil {
			return err
		}
		return addRow(tx, rowKey(period, domain, hash), rowJSON)
	}
}

// putPolicy keeps the latest policy seen for the period (RFC 9990 §2.2
// lets the reporter choose; the latest has the current destinations).
func putPolicy(tx *bbolt.Tx, key, polJSON []byte) error {
	b := tx.Bucket(openBucket)
	if bytes.Equal(b.Get(key), polJSON) {
		return nil
	}
	return b.Put(key, polJSON)
}

// addRow increments the row's count: one Get and one Put.
func addRow(tx *bbolt.Tx, key, rowJSON []byte) error {
	b := tx.Bucket(rowsBucket)
	var n int64
	if v := b.Get(key); len(v) >= 8 {
		n = fromBE64(v)
	}
	v := make([]byte, 0, 8+len(rowJSON))
	v = append(v, be64(n+1)...)
	v = append(v, rowJSON...)
	return b.Put(key, v)
}

// toOurselves: a recipient is our reporting address (reports, bounces of
// reports) and must not feed reports back (report loops).
func (r *Reporter) toOurselves(rcpts []string) bool {
	for _, rc := range rcpts {
		if strings.EqualFold(rc, r.config().Email) {
			return true
		}
	}
	return false
}

// policyOf renders the discovered policy as published, with its merged
// mailto: destinations (RFC 9989 §4.7 rua: other schemes are ignored).
func policyOf(d *policy.Discovery) publishedPolicy {
	rec := d.Record
	p := publishedPolicy{
		Domain:    cleanDomain(d.PolicyDomain),
		OrgDomain: cleanDomain(d.OrgDomain),
		P:         actionOr(rec.P, "none"),
		SP:        actionOr(rec.SP, ""),
		NP:        actionOr(rec.NP, ""),
		ADKIM:     alignmentOr(rec.ADKIM),
		ASPF:      alignmentOr(rec.ASPF),
		Testing:   "n",
		FO:        strings.Join(rec.FO, ":"),
		Discovery: oneOf(d.Method, []string{"psl", "treewalk"}, ""),
	}
	if rec.T {
		p.Testing = "y"
	}
	if rec.PSD == 'y' || rec.PSD == 'n' {
		p.PSD = string(rec.PSD)
	}
	p.RUA, p.Ignored = MailtoDestinations(rec.RUA)
	return p
}

// MailtoDestinations returns the mailto: addresses of a rua/ruf list,
// duplicates merged (case-insensitively), and the URIs of other
// schemes, which are not delivered to.
func MailtoDestinations(uris []policy.URI) (mailto, ignored []string) {
	seen := map[string]bool{}
	for _, u := range uris {
		if u.Scheme != "mailto" {
			ignored = append(ignored, cleanText(u.Raw, 200))
			continue
		}
		addr := normalizeAddress(u.Address)
		// Local parts are compared case-insensitively too: no receiver
		// tells "Agg" from "agg", and two copies of a report help nobody.
		if addr == "" || seen[strings.ToLower(addr)] {
			continue
		}
		seen[strings.ToLower(addr)] = true
		mailto = append(mailto, addr)
	}
	return mailto, ignored
}

// normalizeAddress lower-cases the domain and refuses what must not reach
// an SMTP command or a header.
func normalizeAddress(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > 254 {
		return ""
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' {
			return ""
		}
	}
	return a[:at] + "@" + strings.ToLower(strings.TrimSuffix(a[at+1:], "."))
}

func actionOr(a policy.Action, def string) string {
	return oneOf(string(a), []string{"none", "quarantine", "reject"}, def)
}

func alignmentOr(a policy.Alignment) string {
	return oneOf(string(a), []string{"r", "s"}, "r")
}
