package inbound

import (
	"bytes"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// Bounds on what one query keeps in memory, whatever the data: sources
// past maxSources are summed into one "other sources" line, and each
// source keeps at most maxDetail distinct SPF, DKIM and From values.
const (
	maxSources = 50000
	maxDetail  = 8
)

// OtherSources names the line that sums the sources past maxSources.
const OtherSources = "(other sources)"

// Summary is what the kept reports say about a domain over a day range.
type Summary struct {
	Domain       string
	From, To     time.Time // first and last day (inclusive), UTC
	Reports      int
	Messages     uint64
	DMARCPass    uint64
	DaysObserved int // days with at least one report
	Reporters    []ReporterStat
	Sources      []*SourceStat // largest first
	// LastPolicy is policy_published in the latest report.
	LastPolicy PublishedPolicy
}

// ReporterStat is one reporting organisation.
type ReporterStat struct {
	Org      string    `json:"org"`
	Email    string    `json:"email,omitempty"`
	Reports  int       `json:"reports"`
	Messages uint64    `json:"messages"`
	Last     time.Time `json:"last_report"`
}

// SourceStat is one sending IP address.
type SourceStat struct {
	IP          string            `json:"ip"`
	Messages    uint64            `json:"messages"`
	DMARCPass   uint64            `json:"dmarc_pass"`
	SPFAligned  uint64            `json:"spf_aligned"`
	DKIMAligned uint64            `json:"dkim_aligned"`
	Disposition map[string]uint64 `json:"disposition"`
	SPF         map[string]uint64 `json:"spf"`         // "domain=result" (or "result") -> messages
	DKIM        map[string]uint64 `json:"dkim"`        // "d=result ..." -> messages
	HeaderFrom  map[string]uint64 `json:"header_from"` // From domains seen
	PTR         string            `json:"ptr,omitempty"`
	Org         string            `json:"org,omitempty"` // the organisation the data points to
}

// Query sums domain's reports whose day lies in [from, to] (UTC days).
func (s *Store) Query(domain string, from, to time.Time) (*Summary, error) {
	domain = normDomain(domain)
	sum := &Summary{Domain: domain, From: DayTime(dayOf(from)), To: DayTime(dayOf(to))}
	q := newQuery()
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := bucket(tx, reportsBucket).Cursor()
		last := dayOf(to)
		for k, v := c.Seek(dayPrefix(domain, dayOf(from))); k != nil; k, v = c.Next() {
			day, _, ok := splitReportKey(k, domain)
			if !ok || day > last {
				break
			}
			if err := q.add(sum, day, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	q.finish(sum)
	return sum, nil
}

// query holds the running sums of one Query.
type query struct {
	days      map[uint32]bool
	reporters map[string]*ReporterStat
	sources   map[string]*SourceStat
	lastEnd   time.Time
	row       rowView
}

func newQuery() *query {
	return &query{days: map[uint32]bool{}, reporters: map[string]*ReporterStat{}, sources: map[string]*SourceStat{}}
}

func (q *query) add(sum *Summary, day uint32, v []byte) error {
	r := &reader{b: v}
	h := decodeHead(r)
	if r.err != nil {
		return r.err
	}
	q.days[day] = true
	sum.Reports++
	if !h.End.Before(q.lastEnd) {
		q.lastEnd, sum.LastPolicy = h.End, h.Policy
	}
	rs := q.reporter(h)
	for i := 0; i < h.rows; i++ {
		decodeRow(r, &q.row)
		if r.err != nil {
			return r.err
		}
		q.addRow(sum, rs, &q.row)
	}
	return nil
}

func (q *query) reporter(h reportHead) *ReporterStat {
	name := h.Org
	if name == "" {
		name = h.Email
	}
	rs := q.reporters[name]
	if rs == nil {
		rs = &ReporterStat{Org: name, Email: h.Email}
		q.reporters[name] = rs
	}
	rs.Reports++
	if h.End.After(rs.Last) {
		rs.Last = h.End
	}
	return rs
}

func (q *query) addRow(sum *Summary, rs *ReporterStat, v *rowView) {
	n := v.count
	sum.Messages += n
	rs.Messages += n
	src := q.source(v.ip)
	src.Messages += n
	if v.dkimAligned || v.spfAligned {
		sum.DMARCPass += n
		src.DMARCPass += n
	}
	if v.spfAligned {
		src.SPFAligned += n
	}
	if v.dkimAligned {
		src.DKIMAligned += n
	}
	addDetail(src.Disposition, v.disposition, n)
	addDetail(src.HeaderFrom, v.headerFrom, n)
	addDetail(src.DKIM, v.dkim, n)
	switch {
	case len(v.spfDomain) > 0:
		var b [256]byte
		key := append(append(append(b[:0], v.spfDomain...), '='), v.spfRes...)
		addDetail(src.SPF, key, n)
	case len(v.spfRes) > 0:
		addDetail(src.SPF, v.spfRes, n) // a result without a domain
	}
}

func (q *query) source(ip []byte) *SourceStat {
	if src := q.sources[string(ip)]; src != nil {
		return src
	}
	key := string(ip)
	if len(q.sources) >= maxSources {
		key = OtherSources
		if src := q.sources[key]; src != nil {
			return src
		}
	}
	src := &SourceStat{IP: key, Disposition: map[string]uint64{}, SPF: map[string]uint64{},
		DKIM: map[string]uint64{}, HeaderFrom: map[string]uint64{}}
	q.sources[key] = src
	return src
}

// addDetail counts n under key, keeping at most maxDetail keys (the rest
// go under "other").
func addDetail(m map[string]uint64, key []byte, n uint64) {
	if len(key) == 0 {
		return
	}
	if _, ok := m[string(key)]; ok || len(m) < maxDetail {
		m[string(key)] += n
		return
	}
	m["other"] += n
}

func (q *query) finish(sum *Summary) {
	sum.DaysObserved = len(q.days)
	for _, rs := range q.reporters {
		sum.Reporters = append(sum.Reporters, *rs)
	}
	sort.Slice(sum.Reporters, func(i, j int) bool {
		a, b := sum.Reporters[i], sum.Reporters[j]
		if a.Messages != b.Messages {
			return a.Messages > b.Messages
		}
		return a.Org < b.Org
	})
	for _, src := range q.sources {
		sum.Sources = append(sum.Sources, src)
	}
	sortSources(sum.Sources)
}

// sortSources: largest first, then by address, so output is stable.
func sortSources(ss []*SourceStat) {
	sort.Slice(ss, func(i, j int) bool {
		if ss[i].Messages != ss[j].Messages {
			return ss[i].Messages > ss[j].Messages
		}
		return bytes.Compare([]byte(ss[i].IP), []byte(ss[j].IP)) < 0
	})
}
