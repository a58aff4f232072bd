package reporting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Buckets of the aggregate reports. Keys start with the period start
// (8 bytes big-endian), then the policy domain, so one cursor walks a
// period's domains in order.
var (
	// rowsBucket: period|domain|0|hash(row) -> count(8) + row JSON.
	rowsBucket = []byte("reporting.rows")
	// openBucket: period|domain -> publishedPolicy JSON, for every period
	// and domain not yet closed; closing moves it into a report state.
	openBucket = []byte("reporting.open")
	// reportsBucket: period|domain -> aggState JSON.
	reportsBucket = []byte("reporting.reports")
	// reportDataBucket: period|domain -> the gzip'd XML, from generation
	// until every destination is done, so retries send the same bytes.
	reportDataBucket = []byte("reporting.reportdata")
	// suppressBucket: lower-case address -> expiry (Unix seconds, 8 bytes).
	suppressBucket = []byte("reporting.suppress")
	// dailyBucket: day|lower-case address -> reports sent that UTC day.
	dailyBucket = []byte("reporting.daily")
	// metaBucket: openFromKey -> Unix seconds; period|"count" -> reports
	// generated for that aligned period.
	metaBucket = []byte("reporting.meta")
)

var openFromKey = []byte("open_from")

var aggBuckets = [][]byte{rowsBucket, openBucket, reportsBucket, reportDataBucket, suppressBucket, dailyBucket, metaBucket}

// periodDomainKey is period|domain.
func periodDomainKey(period int64, domain string) []byte {
	return append(be64(period), domain...)
}

// rowKey is period|domain|0|hash.
func rowKey(period int64, domain string, hash [16]byte) []byte {
	k := append(periodDomainKey(period, domain), 0)
	return append(k, hash[:]...)
}

// publishedPolicy is the policy as found (RFC 9990 §2.1 policy_published),
// plus what sending needs: the report destinations and the org domain.
type publishedPolicy struct {
	Domain    string   `json:"domain"`
	OrgDomain string   `json:"org,omitempty"`
	P         string   `json:"p"`
	SP        string   `json:"sp,omitempty"`
	NP        string   `json:"np,omitempty"`
	PSD       string   `json:"psd,omitempty"`
	Testing   string   `json:"t,omitempty"`
	ADKIM     string   `json:"adkim,omitempty"`
	ASPF      string   `json:"aspf,omitempty"`
	FO        string   `json:"fo,omitempty"`
	Discovery string   `json:"disc,omitempty"`
	RUA       []string `json:"rua"` // mailto addresses, merged
	Ignored   []string `json:"ignored,omitempty"`
}

// Report states (the life of one report: one policy domain, one period).
const (
	statePending   = "pending"   // closed; XML not generated yet
	stateGenerated = "generated" // XML stored; some destinations not done
	stateSent      = "sent"      // every destination enqueued or skipped
	stateFailed    = "failed"    // nothing could be sent before DropAfter
	stateCapped    = "capped"    // over the per-period cap: not generated
)

// Destination outcomes inside a report.
const (
	destQueued       = "queued"
	destUnauthorized = "unauthorized"
	destSuppressed   = "suppressed"
	destCapped       = "capped"
	destDropped      = "dropped"
)

// aggState is the durable state of one report.
type aggState struct {
	Domain  string            `json:"domain"`
	Begin   int64             `json:"begin"`
	End     int64             `json:"end"` // inclusive
	ID      string            `json:"id"`  // report_id, fixed when the period closes
	Unique  string            `json:"unique"`
	State   string            `json:"state"`
	Closed  time.Time         `json:"closed"`
	Policy  publishedPolicy   `json:"policy"`
	Rows    int               `json:"rows,omitempty"`
	Count   int64             `json:"count,omitempty"`
	Dests   map[string]string `json:"dests,omitempty"` // address -> dest* outcome
	Retry   time.Time         `json:"retry,omitzero"`  // when an unverified destination is checked again
	LastErr string            `json:"lastErr,omitempty"`
	// Adopted: built by a cluster from every instance's rows; keyed by
	// the end of its period, apart from this instance's own periods.
	Adopted bool `json:"adopted,omitempty"`
}

func (s *aggState) key() []byte {
	if s.Adopted {
		return append(periodDomainKey(s.End+1, s.Domain), 0, 'c')
	}
	return periodDomainKey(s.Begin, s.Domain)
}

// open lists the destinations with no outcome yet.
func (s *aggState) open() []string {
	var out []string
	for _, a := range s.Policy.RUA {
		if s.Dests[a] == "" {
			out = append(out, a)
		}
	}
	return out
}

func getState(tx *bbolt.Tx, key []byte) (*aggState, error) {
	v := tx.Bucket(reportsBucket).Get(key)
	if v == nil {
		return nil, nil
	}
	s := &aggState{}
	if err := json.Unmarshal(v, s); err != nil {
		return nil, fmt.Errorf("reporting: corrupt report state %x: %w", key, err)
	}
	return s, nil
}

func putState(tx *bbolt.Tx, s *aggState) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Bucket(reportsBucket).Put(s.key(), v)
}

// errStateChanged: another Send got there first; nothing was written.
var errStateChanged = errors.New("reporting: report state changed meanwhile")

// periodCountKey counts the reports generated for the period starting at begin.
func periodCountKey(begin int64) []byte { return append(be64(begin), "count"...) }

// addCounter adds delta to a big-endian counter and returns the new value.
func addCounter(b *bbolt.Bucket, key []byte, delta int64) (int64, error) {
	n := fromBE64(b.Get(key)) + delta
	return n, b.Put(key, be64(n))
}

// deletePrefix removes every key of b that starts with prefix.
func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
