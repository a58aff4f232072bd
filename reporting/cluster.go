package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"
)

// What a cluster of instances (package cluster) needs from the reporter:
// each instance closes its periods as usual, ships the closed periods'
// rows, and the one elected sender builds each domain's report from
// every instance's rows and adopts it here to send it. The reporter does
// not know where rows go; it only hands them over and forgets them once
// the hand-over succeeded.

// ShippedRow is one aggregate row as the instances of a cluster share it.
type ShippedRow struct {
	Hash  [16]byte // the row's identity (rowIdentity.encode)
	Row   []byte   // the identity as stored (JSON)
	Count int64
}

// ShippedPeriod is one closed (period, policy domain) of one instance.
type ShippedPeriod struct {
	Begin, End int64 // Unix seconds; End inclusive
	Domain     string
	Policy     []byte // the published policy as stored (JSON)
	Rows       []ShippedRow
}

// ShipClosed hands each closed period of this instance to ship, oldest
// first, and forgets its rows once ship returned nil. ship must be
// idempotent: a crash between the two ships the same period again. It
// returns how many periods were shipped.
func (r *Reporter) ShipClosed(ctx context.Context, ship func(context.Context, ShippedPeriod) error) (int, error) {
	states, err := r.activeStates()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, st := range states {
		if st.Adopted || st.State != statePending {
			continue
		}
		p, err := r.shippedPeriod(st)
		if err != nil {
			return n, err
		}
		if err := ship(ctx, p); err != nil {
			return n, err
		}
		if err := r.forgetShipped(ctx, st); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (r *Reporter) shippedPeriod(st *aggState) (ShippedPeriod, error) {
	pol, err := json.Marshal(st.Policy)
	if err != nil {
		return ShippedPeriod{}, err
	}
	p := ShippedPeriod{Begin: st.Begin, End: st.End, Domain: st.Domain, Policy: pol}
	prefix := append(bytes.Clone(st.key()), 0)
	err = r.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(rowsBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) < 8 || len(k) != len(prefix)+16 {
				return fmt.Errorf("reporting: corrupt row %x", k)
			}
			row := ShippedRow{Row: bytes.Clone(v[8:]), Count: fromBE64(v)}
			copy(row.Hash[:], k[len(prefix):])
			p.Rows = append(p.Rows, row)
		}
		return nil
	})
	return p, err
}

// forgetShipped deletes a shipped period's state and rows.
func (r *Reporter) forgetShipped(ctx context.Context, st *aggState) error {
	return r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		cur, err := getState(tx, st.key())
		if err != nil || cur == nil || cur.State != statePending || cur.Adopted {
			return err
		}
		if err := deletePrefix(tx.Bucket(rowsBucket), append(bytes.Clone(st.key()), 0)); err != nil {
			return err
		}
		return tx.Bucket(reportsBucket).Delete(st.key())
	})
}

// CloseAt closes the open periods at cut (Unix seconds), a cut the
// instances of a cluster share. A cut at or before the open period's
// start changes nothing. It returns how many (period, domain) closed.
func (r *Reporter) CloseAt(ctx context.Context, cut int64) (int, error) {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	if cut <= r.openFrom.Load() || cut > r.now().Unix() {
		return 0, nil
	}
	closed, err := r.closeBefore(ctx, cut, r.now())
	return len(closed), err
}

// OpenFrom is the earliest start of the open period (Unix seconds): the
// last cut, or 0.
func (r *Reporter) OpenFrom() int64 { return r.openFrom.Load() }

// ClusterReport is a report built from every instance's rows: its id and
// bytes are fixed once, by whoever built it first.
type ClusterReport struct {
	ID         string
	Domain     string
	Begin, End int64 // End inclusive
	Policy     []byte
	GZ         []byte // the gzip'd XML
	Rows       int
	Messages   int64
}

// ReportID makes a new report_id for domain's report beginning at begin.
func (r *Reporter) ReportID(begin int64, domain string) (string, error) {
	unique, err := randomToken(8)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s.%d.%s@%s", unique, begin, domain, r.config().Hostname), nil
}

// RenderShipped builds the gzip'd XML of a cluster report from the rows
// every instance shipped; rows of equal identity are summed.
func (r *Reporter) RenderShipped(rep *ClusterReport, rows []ShippedRow) error {
	var pol publishedPolicy
	if err := json.Unmarshal(rep.Policy, &pol); err != nil {
		return fmt.Errorf("reporting: corrupt shipped policy of %s: %w", rep.Domain, err)
	}
	m := r.newRecordMerger()
	for _, row := range rows {
		if err := m.add(row.Row, row.Count); err != nil {
			return fmt.Errorf("reporting: corrupt shipped row of %s: %w", rep.Domain, err)
		}
	}
	doc := r.newReport(reportHeader{id: rep.ID, begin: rep.Begin, end: rep.End, policy: pol})
	doc.Records = m.records
	sortRecords(doc.Records)
	xml, err := doc.Marshal()
	if err != nil {
		return err
	}
	rep.GZ, rep.Rows, rep.Messages = gzipBytes(xml), len(doc.Records), doc.MessageCount()
	return nil
}

// Adopt takes a cluster report to send it from here: it is stored as
// generated (same id, same bytes whoever adopts it) and sent by the next
// Send. Adopting the same report again changes nothing.
func (r *Reporter) Adopt(ctx context.Context, rep *ClusterReport) error {
	var pol publishedPolicy
	if err := json.Unmarshal(rep.Policy, &pol); err != nil {
		return fmt.Errorf("reporting: corrupt policy of report %s: %w", rep.ID, err)
	}
	st := &aggState{
		Domain: rep.Domain, Begin: rep.Begin, End: rep.End, ID: rep.ID, State: stateGenerated,
		Closed: r.now(), Policy: pol, Rows: rep.Rows, Count: rep.Messages, Adopted: true,
	}
	if rep.Rows == 0 {
		st.State, st.LastErr = stateSent, "no rows"
	}
	return r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		if cur, err := getState(tx, st.key()); err != nil || cur != nil {
			return err
		}
		if rep.Rows > 0 {
			if err := tx.Bucket(reportDataBucket).Put(st.key(), rep.GZ); err != nil {
				return err
			}
		}
		return putState(tx, st)
	})
}

// AdoptedState says where an adopted report stands here: "" when it is
// not known here, else its state (generated, sent, failed).
func (r *Reporter) AdoptedState(rep *ClusterReport) (string, error) {
	st := &aggState{Domain: rep.Domain, End: rep.End, Adopted: true}
	var state string
	err := r.db.View(func(tx *bbolt.Tx) error {
		cur, err := getState(tx, st.key())
		if cur != nil && cur.ID == rep.ID {
			state = cur.State
		}
		return err
	})
	return state, err
}
