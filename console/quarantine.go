package console

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"dmarcgate/queue"
)

// What is read of a held message to show it: its header section, up to
// headerLimit, and the start of its body, up to previewLimit. Both are
// shown as text, escaped, never as HTML.
const (
	headerLimit  = 64 << 10
	previewLimit = 4 << 10
	fieldShown   = 1000
)

type heldRow struct {
	queue.Message
	From, Subject string
}

type heldView struct {
	heldRow
	Fields    []field
	Preview   string
	Truncated bool
}

type field struct{ Name, Value string }

func (s *Server) quarantinePage(w http.ResponseWriter, r *http.Request, req *request) {
	held, err := s.src.Queue.ListHeld()
	if err != nil {
		s.fail(w, "the quarantine", err)
		return
	}
	rows := make([]heldRow, len(held))
	for i, m := range held {
		rows[i] = heldRow{Message: m}
		fields, _, _ := s.readHeld(m.ID, 0)
		rows[i].From, rows[i].Subject = first(fields, "from"), first(fields, "subject")
	}
	s.page(w, req, "quarantine", "Quarantine", rows)
}

func (s *Server) heldPage(w http.ResponseWriter, r *http.Request, req *request) {
	m, ok := s.heldEntry(w, r, req)
	if !ok {
		return
	}
	fields, preview, more := s.readHeld(m.ID, previewLimit)
	v := &heldView{heldRow: heldRow{Message: *m, From: first(fields, "from"), Subject: first(fields, "subject")},
		Fields: fields, Preview: preview, Truncated: more}
	s.page(w, req, "held", "Held message "+m.ID, v)
}

// heldEntry finds the held message of the path, or answers for it.
func (s *Server) heldEntry(w http.ResponseWriter, r *http.Request, req *request) (*queue.Message, bool) {
	id := r.PathValue("id")
	m, err := s.src.Queue.Get(id)
	if errors.Is(err, queue.ErrNotFound) || (err == nil && !m.Held) {
		s.done(w, r, req, "No held message "+id+" (released, deleted or expired meanwhile?).", "/quarantine")
		return nil, false
	}
	if err != nil {
		s.fail(w, "the held message", err)
		return nil, false
	}
	return m, true
}

func (s *Server) heldRelease(w http.ResponseWriter, r *http.Request, req *request) {
	m, ok := s.heldEntry(w, r, req)
	if !ok {
		return
	}
	if err := s.src.Queue.Release(m.ID); err != nil {
		s.done(w, r, req, "Could not release "+m.ID+": "+err.Error(), "/quarantine")
		return
	}
	s.logChange(r, "quarantined message released for delivery", "id", m.ID, "mail_from", m.From)
	s.done(w, r, req, m.ID+" released for delivery.", "/quarantine")
}

func (s *Server) heldDelete(w http.ResponseWriter, r *http.Request, req *request) {
	m, ok := s.heldEntry(w, r, req)
	if !ok {
		return
	}
	if err := s.src.Queue.Delete(m.ID); err != nil {
		s.done(w, r, req, "Could not delete "+m.ID+": "+err.Error(), "/quarantine")
		return
	}
	s.logChange(r, "quarantined message deleted", "id", m.ID, "mail_from", m.From)
	s.done(w, r, req, m.ID+" deleted (not delivered, no DSN sent).", "/quarantine")
}

// readHeld reads the header fields of a held message and up to preview
// bytes of its body; more says the body goes on.
func (s *Server) readHeld(id string, preview int) (fields []field, body string, more bool) {
	rc, err := s.src.Queue.Body(id)
	if err != nil {
		return nil, "", false
	}
	defer rc.Close()
	br := bufio.NewReader(io.LimitReader(rc, headerLimit+int64(preview)+1))
	fields = readFields(br)
	if preview == 0 {
		return fields, "", false
	}
	buf := make([]byte, preview+1)
	n, _ := io.ReadFull(br, buf)
	more = n > preview
	return fields, shownText(buf[:min(n, preview)], true), more
}

// readFields reads a header section leniently (a held message is whatever
// a failing sender wrote), unfolding continuation lines (RFC 5322 §2.2.3).
func readFields(br *bufio.Reader) []field {
	var out []field
	for read := 0; read < headerLimit; {
		line, err := br.ReadString('\n')
		read += len(line)
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
		} else if name, value, ok := strings.Cut(line, ":"); ok {
			out = append(out, field{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
		}
		if err != nil {
			break
		}
	}
	for i := range out {
		v := out[i].Value
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
		out[i].Value = shownText([]byte(v), false)
		if utf8.RuneCountInString(out[i].Value) > fieldShown {
			out[i].Value = string([]rune(out[i].Value)[:fieldShown]) + "..."
		}
	}
	return out
}

var wordDecoder = mime.WordDecoder{}

// shownText makes bytes from mail safe to show as text: valid UTF-8, no
// control characters or bidi overrides (newlines kept in a body).
func shownText(b []byte, multiline bool) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case multiline && (r == '\n' || r == '\t'):
			return r
		case r == '\r' && multiline:
			return -1
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			return '?'
		}
		return r
	}, s)
}

func first(fields []field, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}
