package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
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

	// The current transaction.
	from    string
	hasFrom bool
	opts    smtp.MailOptions
	rcpts   []string
	spf     chan auth.SPFOutcome
	ctx     context.Context
	cancel  context.CancelFunc
	started time.Time
}

func (s *session) helo() string { return s.conn.Hostname() }

// Mail starts a transaction; SPF needs only the IP, HELO and MAIL FROM, so it
// runs now, concurrently with RCPT and DATA.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	if hasControl(from) {
		return replyBadAddress
	}
	if opts != nil {
		if s.srv.Config.MaxMessageSize > 0 && opts.Size > s.srv.Config.MaxMessageSize {
			return replyTooBig
		}
		s.opts = *opts
	}
	s.from, s.hasFrom, s.started = from, true, time.Now()
	s.ctx, s.cancel = context.WithCancel(s.srv.ctx)
	spf := make(chan auth.SPFOutcome, 1)
	s.spf = spf
	ctx, ip, helo, checker := s.ctx, s.ip, s.helo(), s.srv.Evaluator.Checker
	go func() { spf <- checker.SPF(ctx, ip, helo, from) }()
	return nil
}

// Rcpt accepts recipients of our domains only: never an open relay.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if hasControl(to) {
		return replyBadAddress
	}
	_, domain := splitAddress(to)
	if !s.srv.accept[domain] {
		recipientsRejected.WithLabelValues("relay_denied").Inc()
		return replyRelayDenied
	}
	if len(s.rcpts) >= s.srv.Config.MaxRecipients {
		recipientsRejected.WithLabelValues("too_many").Inc()
		return replyTooManyRcpts
	}
	if v := s.srv.Verifier; v != nil {
		switch err := v.Check(s.ctx, quoteAddress(to)); {
		case errors.Is(err, queue.ErrUnknownUser):
			recipientsRejected.WithLabelValues("unknown_user").Inc()
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
	if s.cancel != nil {
		s.cancel()
	}
	s.from, s.hasFrom, s.opts, s.rcpts, s.spf, s.ctx, s.cancel = "", false, smtp.MailOptions{}, nil, nil, nil, nil
}

func (s *session) Logout() error {
	s.Reset()
	return nil
}

func (s *session) tlsState() *tls.ConnectionState {
	if st, ok := s.conn.TLSConnectionState(); ok {
		return &st
	}
	return nil
}
