// Package smtpsink is a real SMTP or LMTP server on 127.0.0.1 that records
// (or just counts) what it receives, for tests and the load generator. It
// can be told to refuse recipients or messages, and be stopped and
// restarted on the same port. It is not a mail store: nothing is persisted.
package smtpsink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Options shape the sink.
type Options struct {
	LMTP     bool        // speak LMTP (RFC 2033): one reply per recipient after DATA
	Hostname string      // greeting and EHLO name; default "sink.test"
	TLS      *tls.Config // offer STARTTLS with this configuration
	Discard  bool        // count messages only, keep no bodies (for load)
	// MaxMessageBytes is advertised with SIZE and enforced; default 64 MiB.
	MaxMessageBytes int64
}

// Received is one accepted message as the sink saw it.
type Received struct {
	From     string
	To       []string // recipients the message was accepted for
	Data     []byte   // nil when Options.Discard
	UTF8     bool     // SMTPUTF8 given at MAIL
	Body8Bit bool     // BODY=8BITMIME given at MAIL
	Size     int64    // SIZE= given at MAIL (0 if none)
	TLS      bool     // the session had done STARTTLS
	// TLSResumed: that STARTTLS resumed an earlier TLS session.
	TLSResumed bool
}

// ReplyFunc decides the reply to a recipient (at RCPT) or to a message (at
// DATA); nil means accept. In LMTP mode the DATA reply is asked once per
// recipient, with to holding that recipient alone.
type ReplyFunc func(from string, to []string) *smtp.SMTPError

// Sink is a running SMTP/LMTP server.
type Sink struct {
	opts Options
	addr string

	mu          sync.Mutex
	server      *smtp.Server
	listener    net.Listener
	messages    []Received
	count       int
	connections int
	rcptReply   ReplyFunc
	dataReply   ReplyFunc
	changed     chan struct{} // closed and replaced whenever a message arrives
	open        map[*trackedConn]struct{}
}

// Start runs a sink on 127.0.0.1:0 that t.Cleanup closes.
func Start(t testing.TB, opts Options) *Sink {
	t.Helper()
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("smtpsink: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Listen runs a sink on addr until Close.
func Listen(addr string, opts Options) (*Sink, error) {
	if opts.Hostname == "" {
		opts.Hostname = "sink.test"
	}
	if opts.MaxMessageBytes == 0 {
		opts.MaxMessageBytes = 64 << 20
	}
	s := &Sink{opts: opts, changed: make(chan struct{}), open: make(map[*trackedConn]struct{})}
	if err := s.listen(addr); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sink) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = s.opts.Hostname
	srv.LMTP = s.opts.LMTP
	srv.TLSConfig = s.opts.TLS
	srv.MaxMessageBytes = s.opts.MaxMessageBytes
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.server = srv
	s.listener = ln
	s.mu.Unlock()
	go srv.Serve(&trackingListener{Listener: ln, sink: s})
	return nil
}

// trackingListener notes the sink's open connections, so that Close can
// end them underneath go-smtp (see Close).
type trackingListener struct {
	net.Listener
	sink *Sink
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, sink: l.sink}
	l.sink.mu.Lock()
	l.sink.open[tc] = struct{}{}
	l.sink.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	sink *Sink
}

func (c *trackedConn) Close() error {
	c.sink.mu.Lock()
	delete(c.sink.open, c)
	c.sink.mu.Unlock()
	return c.Conn.Close()
}

// Addr is the host:port the sink listens on (unchanged by Restart).
func (s *Sink) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops listening and drops open connections.
func (s *Sink) Close() error {
	s.mu.Lock()
	srv, ln := s.server, s.listener
	s.server, s.listener = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	// Serve registers the listener with the server asynchronously, so a
	// Close right after Start must close it here too.
	ln.Close()
	// The connections are closed underneath go-smtp and each session ends
	// on its own goroutine: go-smtp's Server.Close would close them from
	// this one, racing with a BDAT in progress.
	s.mu.Lock()
	for c := range s.open {
		c.Conn.Close()
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close() // a reply function still blocks
	}
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// closeTimeout bounds how long Close waits for sessions to end.
const closeTimeout = 5 * time.Second

// Restart listens again on the same address after Close (a "downstream
// down, then up" test). Recorded messages are kept.
func (s *Sink) Restart() error {
	s.Close()
	return s.listen(s.Addr())
}

// SetReply sets the reply to each RCPT (nil f accepts all).
func (s *Sink) SetReply(f ReplyFunc) {
	s.mu.Lock()
	s.rcptReply = f
	s.mu.Unlock()
}

// SetDataReply sets the reply after DATA (nil f accepts all).
func (s *Sink) SetDataReply(f ReplyFunc) {
	s.mu.Lock()
	s.dataReply = f
	s.mu.Unlock()
}

// Messages returns a copy of the messages accepted so far.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Count is how many messages were accepted (also when discarding).
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Open is how many connections are open now.
func (s *Sink) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// Connections is how many connections the sink has accepted.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// Reset forgets the recorded messages and counters.
func (s *Sink) Reset() {
	s.mu.Lock()
	s.messages, s.count, s.connections = nil, 0, 0
	s.mu.Unlock()
}

// Wait returns the recorded messages once at least n were accepted, or an
// error after timeout.
func (s *Sink) Wait(n int, timeout time.Duration) ([]Received, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		count, changed := s.count, s.changed
		s.mu.Unlock()
		if count >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return s.Messages(), fmt.Errorf("smtpsink: %d of %d messages after %v", count, n, timeout)
		}
	}
}

func (s *Sink) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if !s.opts.Discard {
		s.messages = append(s.messages, r)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Sink) replies() (rcpt, data ReplyFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcptReply, s.dataReply
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.connections++
	s.mu.Unlock()
	return &session{sink: s, conn: c}, nil
}
