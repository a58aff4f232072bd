package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"dmarcgate/inbound"
)

// Domains reads what others report about our own domains (package
// inbound): the `dmarcgate domain status` view, and its days one by one.
type Domains interface {
	List() []string
	Status(ctx context.Context, domain string, days int) (*inbound.DomainStatus, error)
	Daily(domain string, days int) ([]DayCount, error)
}

// DayCount is one day's messages in the reports, and how many passed DMARC.
type DayCount struct {
	Day       time.Time
	Messages  uint64
	DMARCPass uint64
}

// sourcesShown bounds the sources table.
const sourcesShown = 50

type domainsView struct {
	Domains []string
}

type domainView struct {
	*inbound.DomainStatus
	Chart   *chart
	Sources []*inbound.SourceStat
	More    int
}

func (s *Server) domainsPage(w http.ResponseWriter, r *http.Request, req *request) {
	v := &domainsView{}
	if s.src.Domains != nil {
		v.Domains = s.src.Domains.List()
	}
	s.page(w, req, "domains", "Domains", v)
}

func (s *Server) domainPage(w http.ResponseWriter, r *http.Request, req *request) {
	domain := strings.ToLower(r.PathValue("domain"))
	if s.src.Domains == nil || !slices.Contains(s.src.Domains.List(), domain) {
		http.Error(w, "Not one of the domains whose reports are kept.", http.StatusNotFound)
		return
	}
	days, err := strconv.Atoi(r.URL.Query().Get("days"))
	if err != nil || days < 1 || days > 400 {
		days = 30
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	st, err := s.src.Domains.Status(ctx, domain, days)
	if err != nil {
		s.fail(w, "the domain's reports", err)
		return
	}
	daily, err := s.src.Domains.Daily(domain, days)
	if err != nil {
		s.fail(w, "the domain's reports by day", err)
		return
	}
	v := &domainView{DomainStatus: st, Chart: passChart(daily), Sources: st.Sources[:min(len(st.Sources), sourcesShown)],
		More: max(len(st.Sources)-sourcesShown, 0)}
	s.page(w, req, "domain", domain, v)
}

// passChart draws one bar per day: its messages, the part that passed
// DMARC in the pass colour, the rest in the fail colour.
func passChart(days []DayCount) *chart {
	c := &chart{W: chartW, H: chartH, Base: chartBase, TickTo: chartBase + 5, Legend: []string{"pass", "fail"}}
	for _, d := range days {
		c.Max = max(c.Max, int64(d.Messages))
	}
	if len(days) == 0 || c.Max == 0 {
		return c
	}
	step := float64(chartW) / float64(len(days))
	scale := float64(chartBase-chartTop) / float64(c.Max)
	every := max(len(days)/8, 1)
	for i, d := range days {
		x := float64(i) * step
		pass, fail := float64(d.DMARCPass)*scale, float64(d.Messages-d.DMARCPass)*scale
		label := d.Day.Format("Jan 2")
		share := 0.0
		if d.Messages > 0 {
			share = 100 * float64(d.DMARCPass) / float64(d.Messages)
		}
		title := fmt.Sprintf("%s: %d messages, %.1f%% passed DMARC", label, d.Messages, share)
		w := max(step-1, 0.5)
		c.Bars = append(c.Bars, bar{X: x, Y: chartBase - pass, W: w, H: pass, Class: "o-accepted", Title: title},
			bar{X: x, Y: chartBase - pass - fail, W: w, H: fail, Class: "o-rejected", Title: title})
		if i%every == 0 {
			c.Ticks = append(c.Ticks, tick{X: x, Text: label})
		}
	}
	return c
}
