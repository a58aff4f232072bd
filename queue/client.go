package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"dmarcgate/internal/tlsconf"
)

// dialer opens SMTP/LMTP client sessions, with opportunistic STARTTLS.
type dialer struct {
	hostname    string
	dialTimeout time.Duration
	timeouts    StageTimeouts
	tlsConfig   *tls.Config // nil: never STARTTLS
	// fallback: after a failed STARTTLS, try again in plain text.
	fallback bool
}

// session is one client connection to an SMTP (RFC 5321) or LMTP (RFC
// 2033) server. Between transactions it may wait in a pool for the next
// message to the same server. It is used by one goroutine at a time.
type session struct {
	raw  net.Conn // the TCP connection, closed by the context watcher
	conn net.Conn // raw, or the TLS connection over it
	r    *bufio.Reader
	w    *bufio.Writer
	ext  map[string]string // EHLO keywords, upper-cased, and their parameters
	lmtp bool
	TLS  bool

	t         StageTimeouts // per stage (RFC 5321 §4.5.3.2)
	deadline  time.Time     // of the transaction in progress; zero: none
	stageName string        // for timeout errors

	key  poolKey
	stop func() bool // detaches the current user's context watcher

	uses      int       // transactions run on this connection
	idleSince time.Time // when it was last put back in the pool
	broken    bool      // unusable: an I/O error, a 421, an unfinished DATA
	dirty     bool      // a transaction failed part-way: RSET before the next
}

// Buffer sizes: replies are short; a message of up to writeBuffer bytes
// leaves in one write.
const (
	readBuffer  = 4 << 10
	writeBuffer = 32 << 10
)

// errTLS marks a STARTTLS failure: the caller may retry in plain text
// when the dialer allows it.
var errTLS = errors.New("STARTTLS failed")

// open connects to addr, says EHLO (LHLO) and, when configured and offered,
// upgrades with STARTTLS (RFC 3207). A STARTTLS failure with a server that
// offered it is retried in plain text only when d.fallback says so: an
// attacker on the path can make any handshake fail, and falling back would
// hand it the message. The session is bound to ctx.
func (d *dialer) open(ctx context.Context, addr, serverName string, lmtp bool, deadline time.Time) (*session, error) {
	if strings.ContainsAny(d.hostname, "\r\n") {
		return nil, fmt.Errorf("queue: invalid hostname %q", d.hostname)
	}
	if d.tlsConfig != nil {
		s, err := d.openOnce(ctx, addr, serverName, lmtp, true, deadline)
		if !errors.Is(err, errTLS) || !d.fallback {
			return s, err
		}
	}
	return d.openOnce(ctx, addr, serverName, lmtp, false, deadline)
}

func (d *dialer) openOnce(ctx context.Context, addr, serverName string, lmtp, tryTLS bool, deadline time.Time) (*session, error) {
	nd := net.Dialer{Timeout: d.dialTimeout, Deadline: deadline}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &session{raw: conn, conn: conn, lmtp: lmtp, t: d.timeouts, deadline: deadline}
	s.r = bufio.NewReaderSize(connReader{s}, readBuffer)
	s.w = bufio.NewWriterSize(connWriter{s}, writeBuffer)
	s.bind(ctx)
	if err := s.greet(d.hostname); err != nil {
		s.abort()
		return nil, err
	}
	if tryTLS && s.has("STARTTLS") {
		if err := s.startTLS(ctx, d.tlsConfig, serverName, d.hostname); err != nil {
			s.abort()
			return nil, fmt.Errorf("%w: %v", errTLS, err)
		}
	}
	return s, nil
}

// greet reads the greeting and introduces us: EHLO, or LHLO for LMTP
// (RFC 2033 §4.1), falling back to HELO for an old SMTP server (RFC 5321
// §4.1.1.1).
func (s *session) greet(hostname string) error {
	s.stage("greeting", s.t.Greeting)
	if err := s.reply(2); err != nil {
		return err
	}
	return s.hello(hostname)
}

func (s *session) hello(hostname string) error {
	verb := "EHLO"
	if s.lmtp {
		verb = "LHLO"
	}
	msg, err := s.command(2, verb+" "+hostname)
	if se := smtpError(err); se != nil && !s.lmtp && (se.Code == 500 || se.Code == 502) {
		s.ext = nil
		_, err = s.command(2, "HELO "+hostname)
		return err
	}
	if err != nil {
		return err
	}
	s.ext = parseExtensions(msg)
	return nil
}

// tlsSessions is how many servers' TLS sessions a client configuration
// keeps for resumption.
const tlsSessions = 256

// clientTLS is the default STARTTLS configuration: opportunistic (any TLS
// beats plain text, so certificates are not verified), and resuming the
// sessions of servers met before (RFC 8446 §2.2): a delivery that opens a
// new connection to the same MX or downstream skips the certificate and
// its signature, on both sides.
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, CipherSuites: tlsconf.CipherSuites(),
		ClientSessionCache: tls.NewLRUClientSessionCache(tlsSessions)}
}

// startTLS upgrades the connection (RFC 3207) and says EHLO again, since
// what the server offered in plain text no longer holds (§4.2).
func (s *session) startTLS(ctx context.Context, cfg *tls.Config, serverName, hostname string) error {
	if _, err := s.command(2, "STARTTLS"); err != nil {
		return err
	}
	if s.r.Buffered() > 0 {
		// Plain text sent after the 220 would be taken as protected.
		return errors.New("server sent data before the TLS handshake")
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = strings.TrimSuffix(serverName, ".")
	}
	tc := tls.Client(s.raw, cfg)
	s.stage("TLS handshake", s.t.Mail)
	if err := tc.HandshakeContext(ctx); err != nil {
		return s.named(err)
	}
	s.conn, s.TLS = tc, true
	return s.hello(hostname)
}

// parseExtensions reads the keywords of an EHLO reply (RFC 5321 §4.1.1.1);
// the first line is the server's greeting, not an extension.
func parseExtensions(ehloReply string) map[string]string {
	ext := map[string]string{}
	lines := strings.Split(ehloReply, "\n")
	for _, l := range lines[1:] {
		keyword, param, _ := strings.Cut(strings.TrimSpace(l), " ")
		if keyword != "" {
			ext[strings.ToUpper(keyword)] = param
		}
	}
	return ext
}

// has reports whether the server offered the extension keyword.
func (s *session) has(keyword string) bool {
	_, ok := s.ext[keyword]
	return ok
}

// command sends one line and reads its reply, which must be of class
// (2 for 2xx, 3 for 3xx); the reply text is returned.
func (s *session) command(class int, line string) (string, error) {
	s.expect(line)
	s.writeLine(line)
	if err := s.flush(); err != nil {
		return "", err
	}
	return s.replyText(class)
}

// writeLine buffers a command; the caller has made sure it holds no CR or
// LF (addresses are checked by Enqueue).
func (s *session) writeLine(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

func (s *session) flush() error { return s.named(s.w.Flush()) }

// reply reads a reply that must be of class; anything else is an
// *smtp.SMTPError.
func (s *session) reply(class int) error {
	_, err := s.replyText(class)
	return err
}

func (s *session) replyText(class int) (string, error) {
	code, msg, err := readReply(s.r)
	if err != nil {
		return "", s.named(err)
	}
	if code/100 != class {
		return "", replyFrom(code, msg)
	}
	return msg, nil
}

// bind makes ctx's end close the connection: that is how a cancelled
// context aborts a command in progress.
func (s *session) bind(ctx context.Context) {
	s.stop = context.AfterFunc(ctx, func() { s.raw.Close() })
}

// unbind detaches the context; false if it has already closed the
// connection.
func (s *session) unbind() bool { return s.stop() }

// note records what a command's error says about the connection and
// returns it: a reply leaves the connection usable after RSET, anything
// else (EOF, reset, timeout, a garbled reply) or a 421 (RFC 5321 §3.8: the
// server is closing) makes it unusable.
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

// reset ends a failed transaction (RSET, RFC 5321 §4.1.1.5).
func (s *session) reset() error {
	_, err := s.command(2, "RSET")
	return s.note(err)
}

// quitTimeout bounds the QUIT that ends a connection, so closing many idle
// connections of an unresponsive server stays quick.
const quitTimeout = 2 * time.Second

// close ends the session politely (QUIT) unless it is broken.
func (s *session) close() {
	s.stop()
	if !s.broken {
		s.deadline = time.Time{} // the transaction's has passed, maybe
		s.t.Mail = min(s.t.Mail, quitTimeout)
		s.command(2, "QUIT")
	}
	s.conn.Close()
}

// abort closes the connection without a word.
func (s *session) abort() {
	s.stop()
	s.broken = true
	s.conn.Close()
}

// connReader and connWriter use the session's current connection (plain,
// then TLS); its deadlines are set per stage (see stage).
type connReader struct{ s *session }

func (c connReader) Read(p []byte) (int, error) { return c.s.conn.Read(p) }

type connWriter struct{ s *session }

func (c connWriter) Write(p []byte) (int, error) { return c.s.conn.Write(p) }
