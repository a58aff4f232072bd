package console

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"dmarcgate/reporting"
)

// Reports reads what the gateway reported to others (package reporting).
type Reports interface {
	Reports(limit int) ([]reporting.ReportStatus, error)
	ReportXML(begin time.Time, domain string) ([]byte, error)
	FailuresPending() (int, error)
}

// reportsShown bounds the Reports page.
const reportsShown = 300

type reportCounts struct {
	Sent, Pending, Failed, FailuresPending int
}

func (s *Server) reportCounts() (*reportCounts, error) {
	list, err := s.src.Reports.Reports(reportsShown)
	if err != nil {
		return nil, err
	}
	c := &reportCounts{}
	for _, r := range list {
		switch r.State {
		case "sent":
			c.Sent++
		case "pending", "generated":
			c.Pending++
		default:
			c.Failed++
		}
	}
	c.FailuresPending, err = s.src.Reports.FailuresPending()
	return c, err
}

type reportRow struct {
	reporting.ReportStatus
	Destinations []dest
}

type dest struct{ Address, Outcome string }

type reportsView struct {
	Rows            []reportRow
	FailuresPending int
	Limit           int
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, req *request) {
	if s.src.Reports == nil {
		s.page(w, req, "reports", "Reports sent", &reportsView{})
		return
	}
	list, err := s.src.Reports.Reports(reportsShown)
	if err != nil {
		s.fail(w, "the reports", err)
		return
	}
	v := &reportsView{Limit: reportsShown}
	v.FailuresPending, _ = s.src.Reports.FailuresPending()
	for _, rs := range list {
		row := reportRow{ReportStatus: rs}
		for a, o := range rs.Dests {
			if o == "" {
				o = "not yet"
			}
			row.Destinations = append(row.Destinations, dest{a, o})
		}
		slices.SortFunc(row.Destinations, func(a, b dest) int { return strings.Compare(a.Address, b.Address) })
		v.Rows = append(v.Rows, row)
	}
	s.page(w, req, "reports", "Reports sent", v)
}

type reportXMLView struct {
	Domain string
	Begin  time.Time
	XML    string
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, req *request) {
	begin, err := strconv.ParseInt(r.PathValue("begin"), 10, 64)
	if err != nil || s.src.Reports == nil {
		http.NotFound(w, r)
		return
	}
	domain := r.PathValue("domain")
	xml, err := s.src.Reports.ReportXML(time.Unix(begin, 0), domain)
	if errors.Is(err, reporting.ErrNoReport) {
		http.Error(w, "That report's XML is not kept: it is dropped once every destination is done.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, "the report", err)
		return
	}
	s.page(w, req, "report", "Report "+domain, &reportXMLView{Domain: domain, Begin: time.Unix(begin, 0).UTC(),
		XML: shownText(xml, true)})
}
