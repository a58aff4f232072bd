package console

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"dmarcgate/console/verdicts"
	"dmarcgate/queue"
)

// overviewTTL: Overview is computed at most once per interval, however
// many browsers poll it.
const overviewTTL = 2 * time.Second

// topN is how many rows the top lists show.
const topN = 10

type overview struct {
	Now        time.Time
	Periods    []periodCounts
	Chart      *chart
	TopFailing []keyCount
	TopRefused []keyCount
	Scanned    int // verdicts the top lists were drawn from
	Recent     []verdicts.Record
	Queue      queue.Stats
	Reports    *reportCounts
	CertExpiry time.Time
	CertDays   int
	Version    string
	Uptime     time.Duration
}

type periodCounts struct {
	Label  string
	Counts verdicts.Counts
	Total  int64
}

type keyCount struct {
	Key string
	N   int
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, req *request) {
	o, err := s.overview.get(s.cfg.Now(), overviewTTL, s.computeOverview)
	if err != nil {
		s.fail(w, "the overview", err)
		return
	}
	s.page(w, req, "overview", "Overview", o)
}

func (s *Server) computeOverview() (*overview, error) {
	now := s.cfg.Now()
	hours, err := s.src.Verdicts.Hours(now.Add(-7*24*time.Hour+time.Hour), now)
	if err != nil {
		return nil, err
	}
	o := &overview{Now: now, Chart: weekChart(hours), Queue: s.src.Queue.Stats(), Version: s.cfg.Version,
		Uptime: now.Sub(s.cfg.Started).Truncate(time.Second)}
	for _, p := range []struct {
		label string
		d     time.Duration
	}{{"last hour", time.Hour}, {"last day", 24 * time.Hour}, {"last week", 7 * 24 * time.Hour}} {
		c := verdicts.Sum(hours, now.Add(-p.d))
		o.Periods = append(o.Periods, periodCounts{Label: p.label, Counts: c, Total: c.Total()})
	}
	briefs, err := s.src.Verdicts.Briefs(verdicts.DefaultSize)
	if err != nil {
		return nil, err
	}
	o.Scanned = len(briefs)
	o.TopFailing = top(briefs, func(r *verdicts.Brief) string {
		if r.Failing() {
			return r.FromDomain
		}
		return ""
	})
	o.TopRefused = top(briefs, func(r *verdicts.Brief) string {
		if r.Outcome == verdicts.Rejected || r.Outcome == verdicts.TempFailed {
			return r.ClientIP
		}
		return ""
	})
	if o.Recent, err = s.src.Verdicts.Recent(verdicts.Filter{}, 10); err != nil {
		return nil, err
	}
	if s.src.Reports != nil {
		o.Reports, err = s.reportCounts()
		if err != nil {
			return nil, err
		}
	}
	if s.cfg.CertExpiry != nil {
		if o.CertExpiry = s.cfg.CertExpiry(); !o.CertExpiry.IsZero() {
			o.CertDays = int(o.CertExpiry.Sub(now).Hours() / 24)
		}
	}
	return o, nil
}

// top counts the non-empty keys of the records, largest first.
func top(recs []verdicts.Brief, key func(*verdicts.Brief) string) []keyCount {
	n := map[string]int{}
	for i := range recs {
		if k := key(&recs[i]); k != "" {
			n[k]++
		}
	}
	out := make([]keyCount, 0, len(n))
	for k, c := range n {
		out = append(out, keyCount{k, c})
	}
	slices.SortFunc(out, func(a, b keyCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key))
	})
	return out[:min(len(out), topN)]
}
