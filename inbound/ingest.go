package inbound

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"time"

	"dmarcgate/dmarcreport"
)

// Result is what one piece of report mail (or one file) gave.
type Result struct {
	Kind     string    // "aggregate" or "failure"
	Outcomes []Outcome // one per report it held; [Unreadable] when it could not be read
	Domains  []string  // the policy domain of each report, as Outcomes
	Err      error     // why it was unreadable
}

// commitBatch bounds the reports one commit files when many are ingested.
const commitBatch = 1000

// Ingest reads data as report mail or a report file (XML, gzip, zip, a
// message with such an attachment, or an ARF failure report) and files
// what it says. A report that cannot be read to its end keeps nothing.
// An error is returned only when the store failed; a report that cannot
// be read is a Result with Err set.
func (s *Store) Ingest(ctx context.Context, data []byte, now time.Time) (Result, error) {
	res, err := s.IngestAll(ctx, [][]byte{data}, now)
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// IngestAll is Ingest for many pieces at once (an archive, an mbox): their
// aggregate reports share commits.
func (s *Store) IngestAll(ctx context.Context, items [][]byte, now time.Time) ([]Result, error) {
	out := make([]Result, len(items))
	type ref struct{ item, index int }
	var batch []*Report
	var refs []ref
	flush := func() error {
		outcomes, err := s.AddAggregates(ctx, batch)
		if err != nil {
			return err
		}
		for i, r := range refs {
			out[r.item].Outcomes[r.index] = outcomes[i]
		}
		batch, refs = batch[:0], refs[:0]
		return nil
	}
	for i, data := range items {
		if isFailureReport(data) {
			res, err := s.ingestFailure(ctx, data, now)
			if err != nil {
				return nil, err
			}
			out[i] = res
			continue
		}
		reps, res := parseAggregates(data)
		out[i] = res
		for j, r := range reps {
			batch, refs = append(batch, r), append(refs, ref{i, j})
		}
		if len(batch) >= commitBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseAggregates reads the aggregate reports in data, all or none.
func parseAggregates(data []byte) ([]*Report, Result) {
	res := Result{Kind: "aggregate"}
	parsed, err := dmarcreport.ReadReport(data)
	if err != nil {
		return nil, unreadable(res, err)
	}
	reps := make([]*Report, len(parsed))
	for i, p := range parsed {
		reps[i] = FromAggregate(p)
		if err := check(reps[i]); err != nil {
			return nil, unreadable(res, err)
		}
		fillIdentity(reps[i])
		res.Domains = append(res.Domains, reps[i].Domain)
	}
	res.Outcomes = make([]Outcome, len(reps))
	return reps, res
}

func unreadable(res Result, err error) Result {
	CountUnreadable(res.Kind)
	res.Outcomes, res.Domains, res.Err = []Outcome{Unreadable}, nil, err
	return res
}

func (s *Store) ingestFailure(ctx context.Context, data []byte, now time.Time) (Result, error) {
	res := Result{Kind: "failure"}
	fr, err := dmarcreport.ParseFailureReport(bytes.NewReader(data))
	if err != nil {
		return unreadable(res, err), nil
	}
	reporter := ""
	if m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data))); err == nil {
		reporter = m.Header.Get("From")
		if a, err := mail.ParseAddress(reporter); err == nil {
			reporter = a.Address
		}
	}
	sample := FromFailure(fr, reporter, now)
	if sample.Domain == "" {
		return unreadable(res, fmt.Errorf("%w: no Reported-Domain and no From in the original", ErrBadReport)), nil
	}
	o, err := s.AddFailure(ctx, sample)
	res.Outcomes, res.Domains = []Outcome{o}, []string{sample.Domain}
	return res, err
}

// isFailureReport: the message has a message/feedback-report part
// (RFC 5965 §2), whatever its top level (some reporters use
// multipart/mixed). Only the MIME headers need looking at, so the search
// stops at a bound.
func isFailureReport(data []byte) bool {
	head := data[:min(len(data), 1<<20)]
	return bytes.Contains(bytes.ToLower(head), []byte("message/feedback-report"))
}
