package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticDir embed.FS

func staticFS() fs.FS {
	sub, _ := fs.Sub(staticDir, "static") // the directory is embedded: never fails
	return sub
}

// pageNames are the templates, each parsed with the layout.
var pageNames = []string{"login", "overview", "messages", "message", "queue", "quarantine", "held", "reports", "report", "domains", "domain"}

type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"when":    func(t time.Time) string { return whenText(t) },
	"ago":     func(t time.Time) string { return agoText(time.Since(t)) },
	"join":    strings.Join,
	"bytes":   bytesText,
	"pair":    func(a, b string) pair { return pair{a, b} },
	"percent": func(f float64) float64 { return 100 * f },
}

// pair hands two strings to a shared template.
type pair struct{ A, B string }

func parsePages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// frame is what the layout needs around every page.
type frame struct {
	Title    string
	Nav      string
	Hostname string
	CSRF     string
	Flash    string
	Page     any
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a page into a buffer first, so a template error gives a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := s.pages.t[name].ExecuteTemplate(buf, "layout", data); err != nil {
		s.cfg.Logger.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "Internal error rendering the page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// page renders an authenticated page in the layout.
func (s *Server) page(w http.ResponseWriter, req *request, name, title string, data any) {
	s.render(w, http.StatusOK, name, &frame{Title: title, Nav: name, Hostname: s.cfg.Hostname,
		CSRF: req.csrf, Flash: req.flash, Page: data})
}

// fail shows an error page for a store that could not be read.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.cfg.Logger.Error("console: "+what, "err", err)
	http.Error(w, "Could not read "+what+": "+err.Error(), http.StatusInternalServerError)
}

func whenText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func agoText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func bytesText(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// cache keeps one computed value for a short while: a page polled every
// second reads the stores once per interval at most.
type cache[T any] struct {
	mu   sync.Mutex
	at   time.Time
	val  T
	full bool
}

func (c *cache[T]) get(now time.Time, ttl time.Duration, compute func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.full && now.Sub(c.at) < ttl {
		return c.val, nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.val, c.at, c.full = v, now, true
	return v, nil
}
