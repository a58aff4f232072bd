package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// dialer opens SMTP/LMTP client sessions, with opportunistic STARTTLS.
type dialer struct {
	hostname       string
	dialTimeout    time.Duration
	commandTimeout time.Duration
	tlsConfig      *tls.Config // nil: never STARTTLS
}

// session is an open client connection. Between transactions it may wait
// in a pool for the next message to the same destination.
type session struct {
	*smtp.Client
	TLS  bool
	conn net.Conn
	key  poolKey
	stop func() bool // detaches the current user's context watcher

	uses      int       // transactions run on this connection
	idleSince time.Time // when it was last put back in the pool
	broken    bool      // unusable: an I/O error, a 421, an unfinished DATA
	dirty     bool      // a transaction failed part-way: RSET before the next
}

// bind makes ctx's end close the connection: that is how a cancelled
// context aborts a command in progress.
func (s *session) bind(ctx context.Context) {
	s.stop = context.AfterFunc(ctx, func() { s.conn.Close() })
}

// unbind detaches the context; false if it has already closed the
// connection.
func (s *session) unbind() bool { return s.stop() }

// note records what a command's error says about the connection and
// returns it: a reply leaves the connection usable after RSET, anything
// else (EOF, reset, timeout) or a 421 (RFC 5321 §3.8: the server is
// closing) makes it unusable.
func (s *session) note(err error) error {
	if err == nil {
		return nil
	}
	if se := smtpError(err); se == nil || se.Code == 421 {
		s.broken = true
	} else {
		s.dirty = true
	}
	return err
}

// quitTimeout bounds the QUIT that ends a pooled connection, so closing
// many idle connections of an unresponsive server stays quick.
const quitTimeout = 2 * time.Second

// close ends the session politely if possible.
func (s *session) close() {
	s.stop()
	if s.broken {
		s.Close()
		return
	}
	s.CommandTimeout = min(s.CommandTimeout, quitTimeout)
	if err := s.Quit(); err != nil {
		s.Close()
	}
}

// errTLS marks a STARTTLS failure: the caller may retry in plain text.
var errTLS = errors.New("STARTTLS failed")

// open connects to addr, says EHLO (LHLO) and, when configured and offered,
// upgrades with STARTTLS (RFC 3207). A TLS failure is retried once in plain
// text: opportunistic TLS must never make mail undeliverable.
func (d *dialer) open(ctx context.Context, addr, serverName string, lmtp bool) (*session, error) {
	if d.tlsConfig != nil {
		s, err := d.openOnce(ctx, addr, serverName, lmtp, true)
		if !errors.Is(err, errTLS) {
			return s, err
		}
	}
	return d.openOnce(ctx, addr, serverName, lmtp, false)
}

func (d *dialer) openOnce(ctx context.Context, addr, serverName string, lmtp, tryTLS bool) (*session, error) {
	nd := net.Dialer{Timeout: d.dialTimeout}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// Closing the connection is how a cancelled context aborts a command.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	usedTLS := false
	if tryTLS {
		conn, usedTLS, err = d.startTLS(ctx, conn, serverName, lmtp)
		if err != nil {
			stop()
			conn.Close()
			return nil, err
		}
	}
	var c *smtp.Client
	if lmtp {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = d.commandTimeout
	c.SubmissionTimeout = d.commandTimeout
	if err := c.Hello(d.hostname); err != nil {
		stop()
		c.Close()
		return nil, err
	}
	return &session{Client: c, TLS: usedTLS, conn: conn, stop: stop}, nil
}

// startTLS reads the greeting, says EHLO and, if STARTTLS is offered,
// upgrades the connection. go-smtp's own STARTTLS cannot say our EHLO name
// first, so the exchange is done here and the greeting replayed to the
// client built on the returned connection.
func (d *dialer) startTLS(ctx context.Context, conn net.Conn, serverName string, lmtp bool) (net.Conn, bool, error) {
	conn.SetDeadline(time.Now().Add(d.commandTimeout))
	defer conn.SetDeadline(time.Time{})
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return conn, false, replyError(err)
	}
	verb := "EHLO"
	if lmtp {
		verb = "LHLO"
	}
	_, msg, err := command(tp, 250, "%s %s", verb, d.hostname)
	if err != nil {
		// A server that refuses EHLO: go-smtp falls back to HELO in plain text.
		return conn, false, fmt.Errorf("%w: %v", errTLS, err)
	}
	if !offers(msg, "STARTTLS") {
		return &replayConn{Conn: conn, pending: greetingReplay(tp)}, false, nil
	}
	if _, _, err := command(tp, 220, "STARTTLS"); err != nil {
		return conn, false, fmt.Errorf("%w: %v", errTLS, err)
	}
	cfg := d.tlsConfig.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = strings.TrimSuffix(serverName, ".")
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return conn, false, fmt.Errorf("%w: %v", errTLS, err)
	}
	return &replayConn{Conn: tc, pending: []byte("220 TLS session ready\r\n")}, true, nil
}

func command(tp *textproto.Conn, expect int, format string, args ...any) (int, string, error) {
	id, err := tp.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	return tp.ReadResponse(expect)
}

// offers reports whether an EHLO reply lists the extension keyword.
func offers(ehloReply, keyword string) bool {
	lines := strings.Split(ehloReply, "\n")
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], keyword) {
			return true
		}
	}
	return false
}

// greetingReplay is a greeting for the next client, followed by anything
// the server sent that our reader had already buffered.
func greetingReplay(tp *textproto.Conn) []byte {
	out := []byte("220 ready\r\n")
	if n := tp.R.Buffered(); n > 0 {
		b, _ := tp.R.Peek(n)
		out = append(out, b...)
	}
	return out
}

// replayConn yields pending bytes before reading from the connection.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// replyError turns a textproto reply error into go-smtp's *SMTPError so
// that every reply is classified the same way.
func replyError(err error) error {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return err
	}
	se := &smtp.SMTPError{Code: te.Code, Message: te.Msg, EnhancedCode: smtp.NoEnhancedCode}
	if code, msg, ok := strings.Cut(te.Msg, " "); ok {
		var a, b, c int
		if n, _ := fmt.Sscanf(code, "%d.%d.%d", &a, &b, &c); n == 3 {
			se.EnhancedCode, se.Message = smtp.EnhancedCode{a, b, c}, msg
		}
	}
	return se
}
