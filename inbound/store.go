package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"dmarcgate/store"
)

// Outcome is what became of one report.
type Outcome string

const (
	Kept       Outcome = "kept"
	Duplicate  Outcome = "duplicate"
	Unreadable Outcome = "unreadable"
	Foreign    Outcome = "foreign_domain"
)

// Store keeps reports in the state database, in a bucket of its own.
type Store struct {
	db      *store.DB
	domains Domains
}

// NewStore creates the store's buckets if needed. Reports about policy
// domains outside domains (and their subdomains) are not kept.
func NewStore(ctx context.Context, db *store.DB, domains Domains) (*Store, error) {
	err := db.Commit(ctx, func(tx *bbolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(rootBucket)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{reportsBucket, seenBucket, domainsBucket, failuresBucket, pendingBucket, outboxBucket} {
			if _, err := root.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbound: creating buckets: %w", err)
	}
	return &Store{db: db, domains: domains}, nil
}

// bucket returns one of the store's buckets in tx.
func bucket(tx *bbolt.Tx, name []byte) *bbolt.Bucket {
	return tx.Bucket(rootBucket).Bucket(name)
}

// ErrBadReport: the report lacks what the store needs to file it.
var ErrBadReport = errors.New("inbound: report cannot be filed")

// check refuses a report the store could not file or tell apart.
func check(r *Report) error {
	switch {
	case r.Domain == "" || strings.ContainsAny(r.Domain, "\x00 /"):
		return fmt.Errorf("%w: policy domain %q", ErrBadReport, r.Domain)
	case r.Begin.Unix() <= 0:
		return fmt.Errorf("%w: no date_range", ErrBadReport)
	case strings.ContainsRune(r.Reporter, 0):
		return fmt.Errorf("%w: reporter %q", ErrBadReport, r.Reporter)
	}
	return nil
}

// fillIdentity gives a report without reporter or report_id one drawn
// from its content, so that the same report mailed twice still matches.
func fillIdentity(r *Report) {
	if r.Reporter == "" {
		r.Reporter = "unknown"
	}
	if r.ReportID == "" {
		sum := sha256.Sum256(encodeReport(r))
		r.ReportID = "sha256:" + hex.EncodeToString(sum[:12])
	}
}

// AddAggregates files reports in one commit and says what became of each:
// kept, a duplicate of one kept before (same reporter and report_id), or
// about a foreign domain. A report check refuses makes the whole call
// fail with ErrBadReport before anything is written.
func (s *Store) AddAggregates(ctx context.Context, reps []*Report) ([]Outcome, error) {
	for _, r := range reps {
		if err := check(r); err != nil {
			return nil, err
		}
		fillIdentity(r)
	}
	out := make([]Outcome, len(reps))
	err := s.db.Commit(ctx, func(tx *bbolt.Tx) error {
		for i, r := range reps {
			o, err := s.add(tx, r)
			if err != nil {
				return err
			}
			out[i] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbound: storing reports: %w", err)
	}
	for _, o := range out {
		reportsTotal.WithLabelValues("aggregate", string(o)).Inc()
	}
	return out, nil
}

func (s *Store) add(tx *bbolt.Tx, r *Report) (Outcome, error) {
	if !s.domains.Has(r.Domain) {
		return Foreign, nil
	}
	seen := bucket(tx, seenBucket)
	sk := seenKey(r.Reporter, r.ReportID)
	if seen.Get(sk) != nil {
		return Duplicate, nil
	}
	key := reportKey(r.Domain, r.Day(), r.Reporter, r.ReportID)
	if err := bucket(tx, reportsBucket).Put(key, encodeReport(r)); err != nil {
		return "", err
	}
	if err := bucket(tx, domainsBucket).Put([]byte(r.Domain), nil); err != nil {
		return "", err
	}
	return Kept, seen.Put(sk, key)
}

// CountUnreadable counts a report that could not be read (the parser's
// refusal), for the metrics.
func CountUnreadable(kind string) {
	reportsTotal.WithLabelValues(kind, string(Unreadable)).Inc()
}
