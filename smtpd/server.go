// Package smtpd is the inbound SMTP server: connection limits, relay control,
// recipient checks and the DATA pipeline (spool and DKIM in one pass, DMARC
// evaluation, reply). It is the only package that maps decisions and errors
// to SMTP replies. It does not deliver mail (package queue) nor build reports.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"dmarcgate/auth/arc"
	"dmarcgate/queue"
	"dmarcgate/reporting"
	"dmarcgate/store"
)

// Config holds the [smtp] settings.
type Config struct {
	Hostname      string
	AcceptDomains []string
	// PostmasterAddress is where RCPT TO:<Postmaster> goes (RFC 5321 §4.5.1).
	PostmasterAddress   string
	MaxMessageSize      int64
	MaxRecipients       int
	MaxConnections      int
	MaxConnectionsPerIP int
	// AllowRoutedAddresses takes RCPT local parts with %, ! or @ (routedAddress).
	AllowRoutedAddresses bool
	// IPv6Prefix: an IPv6 client counts against MaxConnectionsPerIP by
	// its prefix of this length (0: 64).
	IPv6Prefix     int
	ReadTimeout    time.Duration
	SessionTimeout time.Duration
	// EvaluationTimeout bounds one message's look-ups (evalContext); 0: none.
	EvaluationTimeout time.Duration
	TLS               *tls.Config // STARTTLS offered when set
}

// Recorder is the seam through which every evaluated message reaches the
// reports: the returned function runs inside the message's durable commit.
type Recorder interface {
	Record(ev *reporting.Event) func(tx *bolt.Tx) error
}

// Holder may keep accepted mail on hold for a later stage: the reason it
// returns for the recipients, or "" to relay as usual. Report mail to our
// own report addresses is read before it is relayed (package inbound).
type Holder interface {
	Hold(rcpts []string) string
}

// Server accepts mail. Set the exported fields, then Serve.
type Server struct {
	Config    Config
	Evaluator *Evaluator
	Queue     *queue.Queue
	DB        *store.DB
	Verifier  *queue.Verifier // nil: recipients are not probed
	Recorder  Recorder        // nil: nothing is recorded
	Holder    Holder          // nil: accepted mail is relayed at once
	Verdicts  VerdictSink     // nil: no ring of recent verdicts
	Sealer    *arc.Sealer     // nil: relayed mail gets no ARC set of ours
	Logger    *slog.Logger

	once      sync.Once
	smtp      *smtp.Server
	cur       atomic.Pointer[settings] // what Reload may change
	ctx       context.Context
	cancel    context.CancelFunc
	mu        sync.Mutex
	listeners []*limitListener
	closing   bool
	shutting  atomic.Bool // Shutdown has begun: read without the lock by replies
	limiter   logLimiter
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		s.cur.Store(&settings{cfg: s.Config, accept: newDomainSet(s.Config.AcceptDomains), eval: s.Evaluator})
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.limiter.now == nil {
			s.limiter.now = time.Now
		}
		srv := smtp.NewServer(s)
		srv.Domain = s.Config.Hostname
		srv.MaxMessageBytes = s.Config.MaxMessageSize
		srv.MailSizeChecked = true // session.Mail, which logs it
		srv.MaxRecipients = s.Config.MaxRecipients
		srv.Limits = s.limits
		srv.ReadTimeout = s.Config.ReadTimeout
		srv.WriteTimeout = s.Config.ReadTimeout
		srv.TLSConfig = s.Config.TLS
		srv.EnableSMTPUTF8 = true
		srv.ErrorLog = slogAdapter{s.Logger}
		srv.Reply = s.Reply
		srv.TLSError = s.tlsError
		s.smtp = srv
	})
}

// Serve accepts connections on l until Shutdown. It may be called for several listeners.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	lim := s.live().cfg
	ll := newLimitListener(l, lim.MaxConnections, lim.MaxConnectionsPerIP,
		s.Config.ReadTimeout, s.Config.SessionTimeout, s.refusedConn)
	ll.v6Prefix = s.Config.IPv6Prefix
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ll.Close()
	}
	s.listeners = append(s.listeners, ll)
	s.mu.Unlock()
	err := s.smtp.Serve(ll)
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops listening, lets sessions finish until ctx ends, then closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	// Our own listeners are closed here too: go-smtp closes only those its
	// Serve has registered, and a Serve that started just before Shutdown
	// may not have yet.
	s.shutting.Store(true)
	s.mu.Lock()
	s.closing = true
	for _, l := range s.listeners {
		l.drain()
		_ = l.Close()
	}
	s.mu.Unlock()
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.cancel()
		s.mu.Lock()
		for _, l := range s.listeners {
			l.closeConns()
		}
		s.mu.Unlock()
		err = nil
	}
	s.cancel()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Active returns the number of open SMTP connections.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.listeners {
		n += l.Active()
	}
	return n
}

// NewSession implements smtp.Backend; go-smtp calls it at EHLO/HELO.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	connectionsTotal.WithLabelValues("accepted").Inc()
	addr := c.Conn().RemoteAddr()
	port := 0
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = ta.Port
	}
	_, tls := c.TLSConnectionState()
	return &session{srv: s, conn: c, ip: net.ParseIP(remoteIP(addr)), port: port, tls: tls, txn: &txn{}}, nil
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...interface{}) {
	a.l.Debug("smtp", "msg", fmt.Sprintf(format, v...))
}
func (a slogAdapter) Println(v ...interface{}) { a.l.Debug("smtp", "msg", fmt.Sprint(v...)) }
