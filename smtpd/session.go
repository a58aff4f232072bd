package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/auth"
	"dmarcgate/queue"
)

// session is one SMTP connection's state between EHLO and QUIT.
type session struct {
	srv  *Server
	conn *smtp.Conn
	ip   net.IP
	port int  // the client's
	tls  bool // begun over TLS (after STARTTLS)

	// mu guards the txn pointer: with BDAT, go-smtp runs Data on a
	// goroutine of its own, and RSET or a closed connection calls Reset
	// while it may still run.
	mu sync.Mutex
	*txn
}

// txn is the current transaction. Reset replaces it rather than clearing
// it, so that a Data still running keeps a consistent one.
type txn struct {
	from    string
	hasFrom bool
	opts    smtp.MailOptions
	rcpts   []string
	spf     chan auth.SPFOutcome
	ctx     context.Context
	cancel  context.CancelFunc
	started time.Time
	eval    *Evaluator // the policy in force at MAIL: a reload waits for the next transaction
}

// snapshot is the session as Data works on it: the transaction that is
// current now, whatever Reset does meanwhile.
func (s *session) snapshot() *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &session{srv: s.srv, conn: s.conn, ip: s.ip, port: s.port, txn: s.txn}
}

func (s *session) helo() string { return s.conn.Hostname() }

// Mail starts a transaction; SPF needs only the IP, HELO and MAIL FROM, so it
// runs now: at once when its DNS answers are cached, otherwise concurrently
// with RCPT and DATA.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	if s.srv.shutting.Load() {
		// A transaction begun now could not finish before the sessions are
		// closed: the client goes elsewhere or comes back.
		return reply(421, 4, 3, 2, s.srv.Config.Hostname+" "+replyShutdown.Message)
	}
	if r := checkPath(from, true); r != nil {
		return r
	}
	if r := s.storageLow(); r != nil {
		return r
	}
	if opts != nil {
		if max := s.srv.live().cfg.MaxMessageSize; max > 0 && opts.Size > max {
			s.srv.refusedSize("MAIL", s.ip, from, nil, opts.Size)
			return replyTooBig
		}
		s.opts = *opts
	}
	s.from, s.hasFrom, s.started, s.eval = from, true, time.Now(), s.srv.live().eval
	s.ctx, s.cancel = context.WithCancel(s.srv.ctx)
	spf := make(chan auth.SPFOutcome, 1)
	s.spf = spf
	ctx, ip, helo, checker := s.ctx, s.ip, s.helo(), s.eval.Checker
	if out, ok := checker.SPFCached(ctx, ip, helo, from); ok {
		spf <- out
		return nil
	}
	go func() {
		if d := s.srv.live().cfg.EvaluationTimeout; d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		spf <- checker.SPF(ctx, ip, helo, from)
	}()
	return nil
}

// evalContext is the context of a message's evaluation: DKIM key look-ups
// while the message arrives, then the rest. The returned start begins
// dmarc.evaluation_timeout for what is left at the end of data (DKIM, the
// DMARC policy, ARC); what is not done by then ends in temperror, so the
// client gets its reply in time (the SPF check has the same bound from
// MAIL). Canceled, not a deadline, since a transfer's length is unknown.
func (s *session) evalContext() (ctx context.Context, start func(), stop func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	var timer *time.Timer
	start = func() {
		if d := s.srv.live().cfg.EvaluationTimeout; d > 0 {
			timer = time.AfterFunc(d, cancel)
		}
	}
	stop = func() {
		if timer != nil {
			timer.Stop()
		}
		cancel()
	}
	return ctx, start, stop
}

// Rcpt accepts recipients of our domains only: never an open relay.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if r := checkPath(to, false); r != nil {
		return r
	}
	live := s.srv.live()
	if strings.EqualFold(to, "postmaster") {
		// RCPT TO:<Postmaster> without a domain (RFC 5321 §4.5.1).
		to = live.cfg.PostmasterAddress
	}
	if !live.cfg.AllowRoutedAddresses && routedAddress(to) {
		s.srv.refusedRcpt(s.conn, "routed_address", to)
		return replyRoutedAddress
	}
	_, domain := splitAddress(to)
	if !live.accept.Match(domain) && to != live.cfg.PostmasterAddress {
		s.srv.refusedRcpt(s.conn, "relay_denied", to)
		return replyRelayDenied
	}
	if len(s.rcpts) >= live.cfg.MaxRecipients {
		// go-smtp refuses these first (Reply logs them); kept as a guard.
		return replyTooManyRcpts
	}
	if v := s.srv.Verifier; v != nil {
		switch err := v.Check(s.ctx, quoteAddress(to)); {
		case errors.Is(err, queue.ErrUnknownUser):
			s.srv.refusedRcpt(s.conn, "unknown_user", to)
			return replyUnknownUser
		case err != nil:
			recipientsRejected.WithLabelValues("verify_unavailable").Inc()
			s.srv.Logger.Warn("recipient verification failed", "rcpt", to, "err", err)
			return replyVerifyDown
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Reset ends the transaction; the SPF check, if still running, is abandoned.
func (s *session) Reset() {
	s.mu.Lock()
	old := s.txn
	s.txn = &txn{}
	s.mu.Unlock()
	if old != nil && old.cancel != nil {
		old.cancel()
	}
}

func (s *session) Logout() error {
	countSession(s)
	s.Reset()
	return nil
}

func (s *session) tlsState() *tls.ConnectionState {
	if st, ok := s.conn.TLSConnectionState(); ok {
		return &st
	}
	return nil
}
