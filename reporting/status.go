package reporting

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// ErrNoReport: no aggregate report for that period and domain, or its XML
// is no longer kept (it is dropped once every destination is done).
var ErrNoReport = errors.New("reporting: no such report")

// ReportStatus is one aggregate report as the console and operators see it.
type ReportStatus struct {
	Domain    string
	Begin     time.Time
	End       time.Time
	ID        string
	State     string            // pending, generated, sent, failed, capped
	Rows      int               // rows (distinct sources and results)
	Messages  int64             // messages counted
	Dests     map[string]string // rua address -> queued, unauthorized, suppressed, capped, dropped ("" = not yet)
	LastError string
	HasXML    bool // the XML is still kept (generated, not done)
}

// Reports returns the latest aggregate reports, newest period first, at
// most limit of them. It only reads.
func (r *Reporter) Reports(limit int) ([]ReportStatus, error) {
	var out []ReportStatus
	err := r.db.View(func(tx *bbolt.Tx) error {
		b, data := tx.Bucket(reportsBucket), tx.Bucket(reportDataBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var st aggState
			if json.Unmarshal(v, &st) != nil {
				continue
			}
			dests := map[string]string{}
			for _, a := range st.Policy.RUA {
				dests[a] = st.Dests[a]
			}
			out = append(out, ReportStatus{Domain: st.Domain, Begin: time.Unix(st.Begin, 0).UTC(),
				End: time.Unix(st.End, 0).UTC(), ID: st.ID, State: st.State, Rows: st.Rows, Messages: st.Count,
				Dests: dests, LastError: st.LastErr, HasXML: data != nil && data.Get(k) != nil})
		}
		return nil
	})
	return out, err
}

// ReportXML returns the XML of the report of domain for the period that
// begins at begin, while it is kept.
func (r *Reporter) ReportXML(begin time.Time, domain string) ([]byte, error) {
	var gz []byte
	_ = r.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(reportDataBucket); b != nil {
			gz = bytes.Clone(b.Get(periodDomainKey(begin.Unix(), strings.ToLower(domain))))
		}
		return nil
	})
	if gz == nil {
		return nil, ErrNoReport
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 64<<20))
}

// Pending is how many failure reports wait to be queued.
func (f *FailureReporter) Pending() (int, error) {
	n := 0
	err := f.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(failurePendingBucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
