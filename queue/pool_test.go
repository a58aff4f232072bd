package queue

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/smtpsink"
)

func relayMessage(i int) *Message {
	return &Message{Route: RouteRelay, From: "alice@sender.test", To: []string{fmt.Sprintf("u%d@example.test", i)}}
}

func TestDeliveriesReuseConnections(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		t.Run(fmt.Sprintf("lmtp=%v", lmtp), func(t *testing.T) {
			db, dir := openDB(t)
			relay := smtpsink.Start(t, smtpsink.Options{LMTP: lmtp})
			cfg := testConfig(dir)
			cfg.RelayAddr = relay.Addr()
			if lmtp {
				cfg.RelayProtocol = "lmtp"
			}
			q := newQueue(t, db, cfg)
			const n = 200
			for i := 0; i < n; i++ {
				enqueue(t, q, relayMessage(i), origBody)
			}
			start(t, q)
			got, err := relay.Wait(n, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			waitEmpty(t, q)
			if c := relay.Connections(); c > cfg.Workers {
				t.Fatalf("%d messages took %d connections, want at most one per worker (%d)", n, c, cfg.Workers)
			}
			if string(got[n-1].Data) != origBody {
				t.Fatalf("delivered %q", got[n-1].Data)
			}
		})
	}
}

func TestConnectionRetiresAfterMaxMessages(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Workers, cfg.MaxConnMessages = relay.Addr(), 1, 10
	q := newQueue(t, db, cfg)
	for i := 0; i < 50; i++ {
		enqueue(t, q, relayMessage(i), origBody)
	}
	if err := q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Wait(50, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := relay.Connections(); c != 5 {
		t.Fatalf("50 messages over %d connections, want 5 of 10 messages each", c)
	}
}

// TestRefusedTransactionLeavesConnectionUsable: with PIPELINING, DATA goes
// out before the RCPT replies are known; when every recipient is refused,
// the next message must still go through on the same connection.
func TestRefusedTransactionLeavesConnectionUsable(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	relay.SetReply(func(_ string, to []string) *smtp.SMTPError {
		if strings.HasPrefix(to[0], "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Workers = relay.Addr(), 1
	q := newQueue(t, db, cfg)
	start(t, q)
	enqueue(t, q, &Message{Route: RouteRelay, To: []string{"nobody@example.test"}}, origBody)
	waitEmpty(t, q) // bounced; the null sender gets no DSN
	enqueue(t, q, relayMessage(1), origBody)
	got, err := relay.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].To[0] != "u1@example.test" || relay.Connections() != 1 {
		t.Fatalf("got %d messages to %v over %d connections, want 1 over 1", len(got), got[0].To, relay.Connections())
	}
}

// TestServerClosedConnectionIsNoFailure: a pooled connection the server
// has dropped (restart: EOF) or closed for idleness (421) costs a
// reconnection, never a deferral.
func TestServerClosedConnectionIsNoFailure(t *testing.T) {
	t.Run("restart", func(t *testing.T) {
		db, dir := openDB(t)
		relay := smtpsink.Start(t, smtpsink.Options{})
		cfg := testConfig(dir)
		cfg.RelayAddr = relay.Addr()
		q := newQueue(t, db, cfg)
		start(t, q)
		enqueue(t, q, relayMessage(1), origBody)
		if _, err := relay.Wait(1, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		waitEmpty(t, q)
		if err := relay.Restart(); err != nil {
			t.Fatal(err)
		}
		deliveredWithoutDeferral(t, q, func() int { return relay.Count() })
		if relay.Connections() != 2 {
			t.Fatalf("%d connections, want 2 (one before the restart, one after)", relay.Connections())
		}
	})
	t.Run("idle 421", func(t *testing.T) {
		db, dir := openDB(t)
		relay := startIdleServer(t, 150*time.Millisecond)
		cfg := testConfig(dir)
		cfg.RelayAddr = relay.addr
		q := newQueue(t, db, cfg)
		start(t, q)
		enqueue(t, q, relayMessage(1), origBody)
		waitFor(t, 5*time.Second, "the first delivery", func() bool { return relay.count() == 1 })
		waitEmpty(t, q)
		time.Sleep(400 * time.Millisecond) // the server says 421 and closes
		deliveredWithoutDeferral(t, q, relay.count)
		if c := relay.connections(); c != 2 {
			t.Fatalf("%d connections, want 2", c)
		}
	})
}

// deliveredWithoutDeferral enqueues one more message and checks that it
// arrives at once: a deferral would wait an hour (testConfig).
func deliveredWithoutDeferral(t *testing.T, q *Queue, count func() int) {
	t.Helper()
	id := enqueue(t, q, relayMessage(2), origBody)
	waitFor(t, 5*time.Second, "the second delivery", func() bool {
		if m, err := q.Get(id); err == nil && m.Attempts > 0 {
			t.Fatalf("deferred: %s", m.LastError)
		}
		return count() == 2
	})
	waitEmpty(t, q)
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	db, dir := openDB(t)
	relay := startIdleServer(t, time.Minute)
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.IdleConnTimeout = relay.addr, 100*time.Millisecond
	q := newQueue(t, db, cfg)
	start(t, q)
	enqueue(t, q, relayMessage(1), origBody)
	waitFor(t, 5*time.Second, "the delivery", func() bool { return relay.count() == 1 })
	waitFor(t, 5*time.Second, "the idle connection to be closed", func() bool { return relay.closed() == 1 })
	if relay.quits() != 1 {
		t.Fatal("idle connection closed without QUIT")
	}
}

func TestStopClosesIdleConnections(t *testing.T) {
	db, dir := openDB(t)
	relay := startIdleServer(t, time.Minute)
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.addr
	q := newQueue(t, db, cfg)
	q.Start(context.Background())
	enqueue(t, q, relayMessage(1), origBody)
	waitFor(t, 5*time.Second, "the delivery", func() bool { return relay.count() == 1 })
	waitEmpty(t, q)
	if relay.closed() != 0 {
		t.Fatal("connection closed before Stop")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the server to see QUIT", func() bool { return relay.quits() == 1 })
}

// idleServer is a go-smtp server with an idle timeout, after which it
// answers 421 and closes (as many MTAs do); it counts connections,
// messages, QUIT commands and closed sessions.
type idleServer struct {
	addr string

	mu                          sync.Mutex
	conns, msgs, ended, quitted int
}

func startIdleServer(t *testing.T, idle time.Duration) *idleServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &idleServer{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		s.inc(&s.conns)
		return &idleSession{s: s}, nil
	}))
	srv.Domain = "idle.test"
	srv.ReadTimeout = idle
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(quitListener{Listener: ln, s: s})
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *idleServer) inc(n *int) {
	s.mu.Lock()
	*n++
	s.mu.Unlock()
}

func (s *idleServer) get(n *int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *n
}

func (s *idleServer) connections() int { return s.get(&s.conns) }
func (s *idleServer) count() int       { return s.get(&s.msgs) }
func (s *idleServer) closed() int      { return s.get(&s.ended) }
func (s *idleServer) quits() int       { return s.get(&s.quitted) }

type idleSession struct{ s *idleServer }

func (ss *idleSession) Reset()                               {}
func (ss *idleSession) Logout() error                        { ss.s.inc(&ss.s.ended); return nil }
func (ss *idleSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *idleSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *idleSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	ss.s.inc(&ss.s.msgs)
	return err
}

// quitListener counts the QUIT commands its connections receive.
type quitListener struct {
	net.Listener
	s *idleServer
}

func (l quitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return quitConn{Conn: c, s: l.s}, nil
}

type quitConn struct {
	net.Conn
	s *idleServer
}

func (c quitConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if strings.Contains(string(p[:n]), "QUIT\r\n") {
		c.s.inc(&c.s.quitted)
	}
	return n, err
}
