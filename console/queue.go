package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"dmarcgate/queue"
)

// flushWait bounds how long a flush from the console waits for the
// attempts it starts; they go on after it returns.
const flushWait = 30 * time.Second

type queueView struct {
	Stats   queue.Stats
	Entries []queue.Message
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, req *request) {
	all, err := s.src.Queue.List()
	if err != nil {
		s.fail(w, "the queue", err)
		return
	}
	v := &queueView{Stats: s.src.Queue.Stats()}
	for _, m := range all {
		if !m.Held {
			v.Entries = append(v.Entries, m)
		}
	}
	s.page(w, req, "queue", "Queue", v)
}

func (s *Server) queueFlush(w http.ResponseWriter, r *http.Request, req *request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), flushWait)
	defer cancel()
	n, err := s.src.Queue.FlushAndWait(ctx)
	s.logChange(r, "queue flushed", "deferred", n)
	msg := fmt.Sprintf("Flushed: %d deferred message(s) attempted now; %d still queued.", n, s.src.Queue.Stats().Depth)
	if errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("Flush started: %d deferred message(s) are being attempted.", n)
	} else if err != nil {
		msg = "Flush failed: " + err.Error()
	}
	s.done(w, r, req, msg, "/queue")
}

func (s *Server) queueDelete(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	m, err := s.src.Queue.Get(id)
	switch {
	case errors.Is(err, queue.ErrNotFound):
		s.done(w, r, req, "No queued message "+id+" (delivered or deleted meanwhile?).", "/queue")
		return
	case err != nil:
		s.fail(w, "the queue entry", err)
		return
	case m.Held:
		s.done(w, r, req, id+" is held in quarantine: delete it there.", "/queue")
		return
	}
	if err := s.src.Queue.Delete(id); err != nil {
		s.done(w, r, req, "Could not delete "+id+": "+err.Error(), "/queue")
		return
	}
	s.logChange(r, "queued message deleted", "id", id, "mail_from", m.From)
	s.done(w, r, req, id+" deleted from the queue (not delivered, no DSN sent).", "/queue")
}
