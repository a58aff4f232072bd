package inbound

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/dmarcreport"
)

// maxSampleHeader bounds the original header kept with a sample.
const maxSampleHeader = 8 << 10

// FailureSample is one failure report (RFC 6591, RFC 9991): one message
// that failed, as the reporter chose to describe it. Samples add no
// volume; they show what failed and why. What the reporter redacted stays
// redacted: the store keeps only what the report says.
type FailureSample struct {
	Time           time.Time `json:"time"`
	Domain         string    `json:"domain"`
	Reporter       string    `json:"reporter"` // the report's From, else its User-Agent
	SourceIP       string    `json:"source_ip,omitempty"`
	From           string    `json:"from,omitempty"`      // the original's From field
	MailFrom       string    `json:"mail_from,omitempty"` // Original-Mail-From
	Subject        string    `json:"subject,omitempty"`   // the original's Subject
	AuthFailure    string    `json:"auth_failure,omitempty"`
	AuthResults    string    `json:"auth_results,omitempty"`
	DKIMDomain     string    `json:"dkim_domain,omitempty"`
	DKIMSelector   string    `json:"dkim_selector,omitempty"`
	SPFDNS         string    `json:"spf_dns,omitempty"`
	DeliveryResult string    `json:"delivery_result,omitempty"`
	Header         string    `json:"header,omitempty"` // the original's header, as reported, capped
}

// FromFailure reads a sample out of a parsed failure report; reporter is
// the report mail's From (may be empty), now the time to use when the
// report gives no Arrival-Date.
func FromFailure(fr *dmarcreport.FailureReport, reporter string, now time.Time) *FailureSample {
	s := &FailureSample{
		Reporter:       reporter,
		SourceIP:       canonicalIP(fr.Get("Source-IP")),
		MailFrom:       fr.Get("Original-Mail-From"),
		AuthFailure:    fr.Get("Auth-Failure"),
		AuthResults:    fr.Get("Authentication-Results"),
		DKIMDomain:     fr.Get("DKIM-Domain"),
		DKIMSelector:   fr.Get("DKIM-Selector"),
		SPFDNS:         fr.Get("SPF-DNS"),
		DeliveryResult: fr.Get("Delivery-Result"),
		Domain:         normDomain(fr.Get("Reported-Domain")),
		Time:           now.UTC(),
	}
	if s.Reporter == "" {
		s.Reporter = fr.Get("User-Agent")
	}
	if t, err := mail.ParseDate(fr.Get("Arrival-Date")); err == nil {
		s.Time = t.UTC()
	}
	hdr := fr.OriginalHeader[:min(len(fr.OriginalHeader), maxSampleHeader)]
	// LF line ends, so the same report sent with CRLF or LF is one sample.
	s.Header = strings.ReplaceAll(string(hdr), "\r\n", "\n")
	if m, err := mail.ReadMessage(bytes.NewReader(append(bytes.Clone(hdr), "\r\n\r\n"...))); err == nil {
		s.From, s.Subject = m.Header.Get("From"), m.Header.Get("Subject")
		if s.Domain == "" {
			if a, err := mail.ParseAddress(s.From); err == nil {
				_, d, _ := strings.Cut(a.Address, "@")
				s.Domain = normDomain(d)
			}
		}
	}
	return s
}

// AddFailure files a sample. The same report mailed twice is one sample.
func (s *Store) AddFailure(ctx context.Context, f *FailureSample) (Outcome, error) {
	if !s.domains.Has(f.Domain) || strings.ContainsRune(f.Domain, 0) {
		reportsTotal.WithLabelValues("failure", string(Foreign)).Inc()
		return Foreign, nil
	}
	val, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(val)
	key := append([]byte(f.Domain), 0)
	key = binary.BigEndian.AppendUint64(key, uint64(max(f.Time.Unix(), 0)))
	key = append(key, sum[:8]...)
	var out Outcome
	err = s.db.Commit(ctx, func(tx *bbolt.Tx) error {
		b := bucket(tx, failuresBucket)
		if b.Get(key) != nil {
			out = Duplicate
			return nil
		}
		out = Kept
		return b.Put(key, val)
	})
	if err != nil {
		return "", fmt.Errorf("inbound: storing failure sample: %w", err)
	}
	reportsTotal.WithLabelValues("failure", string(out)).Inc()
	return out, nil
}

// Failures returns up to limit of domain's samples, newest first.
func (s *Store) Failures(domain string, limit int) ([]FailureSample, error) {
	domain = normDomain(domain)
	prefix := append([]byte(domain), 0)
	var out []FailureSample
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := bucket(tx, failuresBucket).Cursor()
		// Seek past the domain's last key, then walk back.
		k, _ := c.Seek(append(bytes.Clone(prefix), 0xff))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
			var f FailureSample
			if err := json.Unmarshal(c.Bucket().Get(k), &f); err != nil {
				continue // one damaged sample hides no others
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}
