package policy

import (
	"errors"
	"fmt"
)

// Limits of the DNS Tree Walk (RFC 9989 §4.10): at most eight queries; a
// name of eight or more labels is shortened to seven after the first query.
const (
	MaxTreeWalkQueries = 8
	shortcutLabels     = 7
)

// Discovery methods.
const (
	MethodTreeWalk = "treewalk"
	MethodPSL      = "psl"
)

// Discover finds the DMARC Policy Record that applies to mail from
// fromDomain and that domain's Organizational Domain, by the DNS Tree Walk
// (RFC 9989 §4.10, §4.10.1, §4.10.2).
//
// The walk queries _dmarc.<fromDomain>, then its parents (skipping to the
// seven-label name when the domain is longer), and stops at a record with
// psd=n or psd=y or at the top-level domain. Names with several DMARC
// records, or with an unusable one, count as having none. The record
// applied is that of the From domain, else that of its Organizational
// Domain, else that of its Public Suffix Domain (psd=y).
//
// It returns ErrNoRecord when no record applies (matching ErrInvalidRecord
// too when an unusable record was skipped), ErrInvalidDomain for a bad
// name, and a lookup failure wrapped with %w in ErrTemporary (when
// isTemporary says so, or isTemporary is nil) or ErrLookup; the caller's
// own error stays reachable for its isTemporary. isNotFound marks the
// errors that mean "no such name / no TXT record".
func Discover(fromDomain string, lookup LookupFunc, isNotFound, isTemporary func(error) bool) (*Discovery, error) {
	domain, err := normalizeDomain(fromDomain)
	if err != nil {
		return nil, err
	}
	w := walker{lookup: lookup, isNotFound: isNotFound, isTemporary: isTemporary}
	found, err := w.walk(domain)
	if err != nil {
		return nil, err
	}
	d := &Discovery{OrgDomain: orgDomain(domain, found), Method: MethodTreeWalk, Queries: w.queries}
	if f := policyRecord(domain, d.OrgDomain, found); f != nil {
		d.Record, d.PolicyDomain = f.rec, f.name
		return d, nil
	}
	return nil, w.noRecord()
}

// OrgDomainTreeWalk returns the Organizational Domain of any name by the
// DNS Tree Walk (RFC 9989 §4.10.2); relaxed alignment compares these. With
// no DMARC record anywhere on the walk the name is its own Organizational
// Domain. Errors are those of Discover, with "" for the domain.
func OrgDomainTreeWalk(domain string, lookup LookupFunc, isNotFound, isTemporary func(error) bool) (string, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	w := walker{lookup: lookup, isNotFound: isNotFound, isTemporary: isTemporary}
	found, err := w.walk(d)
	if err != nil {
		return "", err
	}
	return orgDomain(d, found), nil
}

// found is a name on the walk that has one usable DMARC record.
type found struct {
	name   string
	labels int
	rec    *Record
}

type walker struct {
	lookup                  LookupFunc
	isNotFound, isTemporary func(error) bool
	queries                 int
	skipped                 error // why an unusable record was skipped
}

// walk queries the names of the tree walk from domain upwards and returns
// those with a usable record, longest name first (RFC 9989 §4.10 steps 1-7).
func (w *walker) walk(domain string) ([]found, error) {
	var out []found
	n := countLabels(domain)
	for k := n; k >= 1 && w.queries < MaxTreeWalkQueries; k-- {
		name := lastLabels(domain, k)
		rec, err := w.query(name)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, found{name: name, labels: k, rec: rec})
			if rec.PSD == 'y' || rec.PSD == 'n' {
				break // steps 2 and 6
			}
		}
		if k == n && k > shortcutLabels+1 {
			k = shortcutLabels + 1 // step 4: the loop's k-- leaves seven labels
		}
	}
	return out, nil
}

// maxDNSName is the longest presentation name without the trailing dot.
const maxDNSName = 253

// fetch counts and makes one query for the TXT records at _dmarc.<name>:
// nil records and no error when there are none.
func (w *walker) fetch(name string) ([]string, error) {
	if w.lookup == nil {
		return nil, errors.New("policy: no lookup function")
	}
	if len(name)+len("_dmarc.") > maxDNSName {
		// _dmarc.<name> cannot exist; asking would only fail and end the
		// walk, letting a long made-up name escape its parent's policy.
		return nil, nil
	}
	w.queries++
	txts, err := w.lookup("_dmarc." + name)
	if err != nil && (w.isNotFound == nil || !w.isNotFound(err)) {
		return nil, lookupFailed(name, err, w.isTemporary)
	}
	if err != nil || txts == nil {
		return nil, nil
	}
	return txts, nil
}

// query fetches the one usable DMARC record at _dmarc.<name>, or nil.
func (w *walker) query(name string) (*Record, error) {
	txts, err := w.fetch(name)
	if err != nil || txts == nil {
		return nil, err
	}
	rec, err := SelectRecord(txts)
	if errors.Is(err, ErrInvalidRecord) && w.skipped == nil {
		w.skipped = fmt.Errorf("_dmarc.%s: %w", name, err)
	}
	return rec, nil
}

// noRecord is the error for a walk that found nothing usable.
func (w *walker) noRecord() error {
	if w.skipped != nil {
		return fmt.Errorf("%w (ignored %w)", ErrNoRecord, w.skipped)
	}
	return ErrNoRecord
}

func lookupFailed(name string, err error, isTemporary func(error) bool) error {
	if isTemporary == nil || isTemporary(err) {
		return fmt.Errorf("%w: _dmarc.%s: %w", ErrTemporary, name, err)
	}
	return fmt.Errorf("%w: _dmarc.%s: %w", ErrLookup, name, err)
}

// orgDomain selects the Organizational Domain from the records of a walk
// that started at domain, longest name first (RFC 9989 §4.10.2): a psd=n
// record names it; a psd=y record above the start makes it the name one
// label below; otherwise it is the name with the fewest labels that has a
// record, and without any record the starting name itself.
func orgDomain(domain string, walk []found) string {
	for _, f := range walk {
		switch {
		case f.rec.PSD == 'n':
			return f.name
		case f.rec.PSD == 'y' && f.name != domain:
			return lastLabels(domain, f.labels+1)
		}
	}
	if len(walk) > 0 {
		return walk[len(walk)-1].name
	}
	return domain
}

// policyRecord picks the record to apply, in order of preference: the
// Author Domain's, its Organizational Domain's, its Public Suffix Domain's
// (RFC 9989 §4.10.1).
func policyRecord(domain, org string, walk []found) *found {
	for _, want := range [...]string{domain, org} {
		for i := range walk {
			if walk[i].name == want {
				return &walk[i]
			}
		}
	}
	for i := range walk {
		if walk[i].rec.PSD == 'y' {
			return &walk[i]
		}
	}
	return nil
}
