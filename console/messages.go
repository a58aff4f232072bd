package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"dmarcgate/console/verdicts"
)

// messagesShown bounds the Messages page.
const messagesShown = 200

type messagesView struct {
	Filter  verdicts.Filter
	Results []string
	Shown   []string
	List    []verdicts.Record
	Limit   int
}

func (s *Server) messagesPage(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	f := verdicts.Filter{
		FromDomain:  strings.ToLower(strings.TrimSpace(q.Get("from"))),
		IP:          strings.TrimSpace(q.Get("ip")),
		Result:      strings.TrimSpace(q.Get("result")),
		Disposition: strings.TrimSpace(q.Get("disposition")),
	}
	list, err := s.src.Verdicts.Recent(f, messagesShown)
	if err != nil {
		s.fail(w, "the recent messages", err)
		return
	}
	s.page(w, req, "messages", "Messages", &messagesView{Filter: f, List: list, Limit: messagesShown,
		Results: []string{"pass", "fail", "none", "temperror", "permerror"},
		Shown:   []string{"accepted", "quarantined", "rejected", "tempfailed", "hold", "reject", "tempfail", "bad-from", "malformed"}})
}

func (s *Server) messagePage(w http.ResponseWriter, r *http.Request, req *request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	rec, err := s.src.Verdicts.Get(seq)
	if errors.Is(err, verdicts.ErrNotFound) {
		http.Error(w, "No such message in the ring of recent verdicts (it may have left it).", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, "the message", err)
		return
	}
	s.page(w, req, "message", "Message "+r.PathValue("seq"), rec)
}
