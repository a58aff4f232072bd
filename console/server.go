// Package console is the postmaster's web console: net/http handlers and
// html/template pages over small read interfaces of the queue, the report
// stores and the ring of recent verdicts. It keeps no store of its own
// (the ring is package verdicts) and decides nothing about mail.
package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"dmarcgate/console/verdicts"
	"dmarcgate/queue"
)

// Verdicts reads the ring of recent verdicts.
type Verdicts interface {
	Recent(f verdicts.Filter, limit int) ([]verdicts.Record, error)
	Briefs(limit int) ([]verdicts.Brief, error)
	Get(seq uint64) (*verdicts.Record, error)
	Hours(since, now time.Time) ([]verdicts.Hour, error)
}

// Queue is what the console reads and changes of the relay queue and the
// held quarantine (the methods of *queue.Queue the CLI uses).
type Queue interface {
	List() ([]queue.Message, error)
	ListHeld() ([]queue.Message, error)
	Get(id string) (*queue.Message, error)
	Stats() queue.Stats
	Release(id string) error
	Delete(id string) error
	Body(id string) (io.ReadCloser, error)
	FlushAndWait(ctx context.Context) (int, error)
}

// Config is the console's settings.
type Config struct {
	PasswordHash []byte // bcrypt
	Secure       bool   // served over TLS: cookies are Secure, HSTS is sent
	Hostname     string
	Version      string
	Started      time.Time
	SessionTTL   time.Duration // default 12h
	Logger       *slog.Logger
	// CertExpiry is when the STARTTLS certificate expires; nil or a zero
	// time when there is none.
	CertExpiry func() time.Time
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Sources are the stores the pages read. Reports and Domains may be nil.
type Sources struct {
	Verdicts Verdicts
	Queue    Queue
	Reports  Reports
	Domains  Domains
}

// Server serves the console. Build it with New; use it as an http.Handler.
type Server struct {
	cfg      Config
	src      Sources
	pages    *pages
	sessions *sessions
	limits   *loginLimits
	mux      *http.ServeMux
	overview cache[*overview]
}

// New builds the console.
func New(cfg Config, src Sources) (*Server, error) {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, src: src, pages: p, sessions: newSessions(cfg.Now, cfg.SessionTTL),
		limits: newLoginLimits(cfg.Now)}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(staticFS())))
	m.HandleFunc("GET /login", s.loginForm)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.authed(s.logout))
	m.HandleFunc("GET /{$}", s.authed(s.overviewPage))
	m.HandleFunc("GET /messages", s.authed(s.messagesPage))
	m.HandleFunc("GET /messages/{seq}", s.authed(s.messagePage))
	m.HandleFunc("GET /queue", s.authed(s.queuePage))
	m.HandleFunc("POST /queue/flush", s.authed(s.queueFlush))
	m.HandleFunc("POST /queue/{id}/delete", s.authed(s.queueDelete))
	m.HandleFunc("GET /quarantine", s.authed(s.quarantinePage))
	m.HandleFunc("GET /quarantine/{id}", s.authed(s.heldPage))
	m.HandleFunc("POST /quarantine/{id}/release", s.authed(s.heldRelease))
	m.HandleFunc("POST /quarantine/{id}/delete", s.authed(s.heldDelete))
	m.HandleFunc("GET /reports", s.authed(s.reportsPage))
	m.HandleFunc("GET /reports/{begin}/{domain}", s.authed(s.reportPage))
	m.HandleFunc("GET /domains", s.authed(s.domainsPage))
	m.HandleFunc("GET /domains/{domain}", s.authed(s.domainPage))
	s.mux = m
}

// ServeHTTP sets the security headers of every answer, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No script at all, no inline style: mail-borne text can do nothing
	// even if it escaped its element.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with our own forms, which checkForm must then trust.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if s.cfg.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.mux.ServeHTTP(w, r)
}

// HTTPServer wraps the console in an http.Server with timeouts. Its own
// complaints (failed TLS handshakes, plain HTTP sent to HTTPS: what any
// scanner causes) go to the gateway's log at debug, not bare to stderr.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug)}
}

func (s *Server) logChange(r *http.Request, msg string, attrs ...any) {
	attrs = append(attrs, "by", "console", "client", clientIP(r))
	s.cfg.Logger.Info(msg, attrs...)
}
