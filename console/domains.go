package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Domains reads what others report about our own domains (package
// inbound): the `dmarcgate domain status` view.
type Domains interface {
	List() []string
	// Status is the domain status text for the last days days.
	Status(ctx context.Context, domain string, days int) (string, error)
}

type domainsView struct {
	Domains []string
}

type domainView struct {
	Domain string
	Days   int
	Text   string
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
	text, err := s.src.Domains.Status(ctx, domain, days)
	if err != nil {
		s.fail(w, "the domain's reports", err)
		return
	}
	s.page(w, req, "domain", domain, &domainView{Domain: domain, Days: days, Text: shownText([]byte(text), true)})
}
