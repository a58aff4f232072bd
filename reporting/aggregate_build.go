package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/bbolt"
)

// generator names us in report_metadata.
const generator = "dmarcgate"

// reportHeader is what a report says about itself, apart from its records.
type reportHeader struct {
	id         string
	begin, end int64
	policy     publishedPolicy
}

// buildReport assembles the RFC 9990 report of one (period, domain) from
// its rows (RFC 9990 §2.1).
func (r *Reporter) buildReport(tx *bbolt.Tx, h reportHeader) (*AggregateReport, error) {
	rep := r.newReport(h)
	records, err := r.periodRecords(tx, h)
	if err != nil {
		return nil, err
	}
	rep.Records = records
	sortRecords(rep.Records)
	return rep, nil
}

// newReport is a report's metadata and policy, without records.
func (r *Reporter) newReport(h reportHeader) *AggregateReport {
	rep := &AggregateReport{
		Metadata: ReportMetadata{
			OrgName:   r.config().OrgName,
			Email:     r.config().Email,
			ReportID:  h.id,
			DateRange: DateRange{Begin: h.begin, End: h.end},
			Generator: generator,
		},
		Policy: PolicyPublished{
			Domain: h.policy.Domain, P: h.policy.P, SP: h.policy.SP, NP: h.policy.NP,
			ADKIM: h.policy.ADKIM, ASPF: h.policy.ASPF, DiscoveryMethod: h.policy.Discovery,
			FO: h.policy.FO, Testing: h.policy.Testing,
		},
	}
	if len(h.policy.Ignored) > 0 {
		// RFC 9990 §2.1.4: errors met while processing the policy.
		rep.Metadata.Error = "rua URIs of schemes other than mailto were ignored: " + strings.Join(h.policy.Ignored, ", ")
	}
	return rep
}

// periodRecords reads the rows of one (period, domain).
func (r *Reporter) periodRecords(tx *bbolt.Tx, h reportHeader) ([]ReportRecord, error) {
	m := r.newRecordMerger()
	prefix := append(periodDomainKey(h.begin, h.policy.Domain), 0)
	c := tx.Bucket(rowsBucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(v) < 8 {
			return nil, fmt.Errorf("reporting: corrupt row %x", k)
		}
		if err := m.add(v[8:], fromBE64(v)); err != nil {
			return nil, fmt.Errorf("reporting: corrupt row %x: %w", k, err)
		}
	}
	return m.records, nil
}

// recordMerger turns stored rows into report records. Rows are stored
// with "pass" for passing mail; it is shown as the configured
// pass_disposition, and rows that become equal by that (or that come
// from several instances of a cluster) are merged.
type recordMerger struct {
	passDisposition string
	records         []ReportRecord
	index           map[string]int
}

func (r *Reporter) newRecordMerger() *recordMerger {
	return &recordMerger{passDisposition: r.config().PassDisposition, index: map[string]int{}}
}

func (m *recordMerger) add(rowJSON []byte, count int64) error {
	var row rowIdentity
	if err := json.Unmarshal(rowJSON, &row); err != nil {
		return err
	}
	if row.Disposition == "pass" && m.passDisposition != "pass" {
		row.Disposition = "none"
	}
	_, enc := row.encode()
	if i, ok := m.index[string(enc)]; ok {
		m.records[i].Row.Count += count
		return nil
	}
	m.index[string(enc)] = len(m.records)
	m.records = append(m.records, row.record(count))
	return nil
}

// sortRecords gives a stable, readable order: by source, then by count,
// largest first.
func sortRecords(records []ReportRecord) {
	slices.SortStableFunc(records, func(a, b ReportRecord) int {
		if c := strings.Compare(a.Row.SourceIP, b.Row.SourceIP); c != 0 {
			return c
		}
		return int(b.Row.Count - a.Row.Count)
	})
}

// PreviewReport is the report one policy domain would get if the open
// period closed now.
type PreviewReport struct {
	Domain string
	XML    []byte
}

// Previews renders the reports of the open period, for one policy domain
// or ("") all, in domain order, as they would be if the period closed
// now. It changes nothing. Nothing recorded is no error for all domains,
// and an error for one.
func (r *Reporter) Previews(domain string) ([]PreviewReport, error) {
	domain = cleanDomain(domain)
	now := r.now().Unix()
	var out []PreviewReport
	err := r.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(openBucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) < 8 || (domain != "" && string(k[8:]) != domain) {
				continue
			}
			doc, err := r.previewOne(tx, fromBE64(k), v, now)
			if err != nil {
				return err
			}
			out = append(out, PreviewReport{Domain: string(k[8:]), XML: doc})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && domain != "" {
		return nil, fmt.Errorf("reporting: nothing recorded for %s in the open period", domain)
	}
	slices.SortStableFunc(out, func(a, b PreviewReport) int { return strings.Compare(a.Domain, b.Domain) })
	return out, nil
}

// previewOne renders the open period that began at begin, as if it
// closed at now.
func (r *Reporter) previewOne(tx *bbolt.Tx, begin int64, polJSON []byte, now int64) ([]byte, error) {
	var pol publishedPolicy
	if err := json.Unmarshal(polJSON, &pol); err != nil {
		return nil, fmt.Errorf("reporting: corrupt policy of %d: %w", begin, err)
	}
	end := max(min(periodEnd(begin, 0, r.config().Interval), now), begin)
	id := fmt.Sprintf("preview.%d.%s@%s", begin, pol.Domain, r.config().Hostname)
	rep, err := r.buildReport(tx, reportHeader{id: id, begin: begin, end: end, policy: pol})
	if err != nil {
		return nil, err
	}
	return rep.Marshal()
}

// generate builds a pending report once and stores its gzip'd XML, so
// that every later attempt sends the same bytes; its rows go in the same
// commit.
func (r *Reporter) generate(ctx context.Context, st *aggState) error {
	gz, rows, count, err := r.render(st)
	if err != nil {
		return err
	}
	next := *st
	next.State, next.Rows, next.Count = stateGenerated, rows, count
	if rows == 0 {
		next.State, next.LastErr = stateSent, "no rows"
	}
	if err := r.db.Commit(ctx, func(tx *bbolt.Tx) error { return storeGenerated(tx, &next, gz) }); err != nil {
		return fmt.Errorf("reporting: storing report %s: %w", st.ID, err)
	}
	*st = next
	if rows > 0 {
		reportsGenerated.Inc()
		reportRows.Observe(float64(rows))
		r.log.Info("aggregate report generated", "report_id", st.ID, "domain", st.Domain,
			"begin", st.Begin, "end", st.End, "rows", rows, "messages", count)
	}
	return nil
}

// render builds the gzip'd XML of a closed report from its rows, which no
// longer change.
func (r *Reporter) render(st *aggState) (gz []byte, rows int, count int64, err error) {
	err = r.db.View(func(tx *bbolt.Tx) error {
		rep, err := r.buildReport(tx, reportHeader{id: st.ID, begin: st.Begin, end: st.End, policy: st.Policy})
		if err != nil {
			return err
		}
		rows, count = len(rep.Records), rep.MessageCount()
		doc, err := rep.Marshal()
		if err != nil {
			return err
		}
		gz = gzipBytes(doc)
		return nil
	})
	return gz, rows, count, err
}

// storeGenerated moves a pending report to next: data stored, rows gone.
func storeGenerated(tx *bbolt.Tx, next *aggState, gz []byte) error {
	key := next.key()
	cur, err := getState(tx, key)
	if err != nil {
		return err
	}
	if cur == nil || cur.State != statePending {
		return errStateChanged
	}
	if next.Rows > 0 {
		if err := tx.Bucket(reportDataBucket).Put(key, gz); err != nil {
			return err
		}
	}
	if err := deletePrefix(tx.Bucket(rowsBucket), append(bytes.Clone(key), 0)); err != nil {
		return err
	}
	return putState(tx, next)
}
