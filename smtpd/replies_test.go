package smtpd

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// writeCounter counts the writes that reach a real connection.
type writeCounter struct {
	net.Conn
	writes *atomic.Int32
}

func (w writeCounter) Write(b []byte) (int, error) {
	w.writes.Add(1)
	return w.Conn.Write(b)
}

// countingListener wraps every accepted connection in a writeCounter.
type countingListener struct {
	net.Listener
	writes atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return writeCounter{Conn: c, writes: &l.writes}, nil
}

func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// readExactly reads n bytes from c within five seconds.
func readExactly(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// Replies are held until the session reads again, then leave in one write;
// a run longer than maxHeldReplies goes out without waiting, and Close sends
// what is held before closing.
func TestRepliesHeldUntilRead(t *testing.T) {
	client, server := tcpPair(t)
	var writes atomic.Int32
	c := &limitedConn{Conn: writeCounter{Conn: server, writes: &writes}, l: newLimitListener(nil, 1, 1, time.Minute, time.Hour, nil),
		deadline: time.Now().Add(time.Hour)}

	replies := "250 2.0.0 Ok: MAIL\r\n250 2.0.0 Ok: RCPT\r\n354 Go ahead\r\n"
	for _, r := range strings.SplitAfter(replies, "\r\n")[:3] {
		if _, err := c.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if n := writes.Load(); n != 0 {
		t.Fatalf("%d writes before the session read again, want 0", n)
	}
	if _, err := client.Write([]byte("body\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "body\r\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if n := writes.Load(); n != 1 {
		t.Fatalf("%d writes for three held replies, want 1", n)
	}
	if got := readExactly(t, client, len(replies)); got != replies {
		t.Fatalf("client got %q", got)
	}

	// A long run is not held past maxHeldReplies: with 100-byte replies,
	// every 40 go out together and the 41st waits for the next read.
	line := strings.Repeat("x", 98) + "\r\n"
	perWrite := maxHeldReplies / len(line)
	for i := 0; i < 2*perWrite+2; i++ {
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if n := writes.Load(); n != 3 {
		t.Errorf("%d writes after %d replies, want 3", n, 2*perWrite+2)
	}
	if got := readExactly(t, client, 2*perWrite*len(line)); got != strings.Repeat(line, 2*perWrite) {
		t.Fatal("the first replies of the run arrived changed")
	}

	// A reply longer than the bound goes out at once, after what was held.
	big := strings.Repeat("y", maxHeldReplies+1)
	if _, err := c.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if got := readExactly(t, client, 2*len(line)+len(big)); got != line+line+big {
		t.Errorf("out of order: %.20q...", got)
	}

	if _, err := c.Write([]byte("221 2.0.0 Bye\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(client)
	if err != nil || string(rest) != "221 2.0.0 Bye\r\n" {
		t.Errorf("after Close the client read %q, %v", rest, err)
	}
}

// Through go-smtp: the replies to a pipelined group of commands reach the
// socket in one write; a client that waits for each reply gets each at once.
func TestPipelinedRepliesShareAWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	s := &Server{Config: Config{Hostname: "mx.test", AcceptDomains: []string{"example.org"},
		MaxMessageSize: 1 << 20, MaxRecipients: 10, MaxConnections: 4, MaxConnectionsPerIP: 4,
		ReadTimeout: 10 * time.Second, SessionTimeout: time.Minute}}
	served := make(chan error, 1)
	go func() { served <- s.Serve(cl) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-served
	})

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	reply := func() string {
		t.Helper()
		var all string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading a reply: %v (so far %q)", err, all)
			}
			all += line
			if len(line) < 4 || line[3] != '-' {
				return all
			}
		}
	}
	if got := reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting %q", got)
	}
	if _, err := conn.Write([]byte("EHLO client.test\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := reply(); !strings.Contains(got, "PIPELINING") {
		t.Fatalf("EHLO reply %q", got)
	}
	before := cl.writes.Load()
	if before != 2 {
		t.Errorf("%d writes for the greeting and the EHLO reply, want 2", before)
	}
	if _, err := conn.Write([]byte("NOOP\r\nNOOP\r\nNOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if got := reply(); !strings.HasPrefix(got, "250 ") {
			t.Fatalf("NOOP %d: %q", i, got)
		}
	}
	if n := cl.writes.Load() - before; n != 1 {
		t.Errorf("%d writes for three pipelined replies, want 1", n)
	}
	if _, err := conn.Write([]byte("QUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := reply(); !strings.HasPrefix(got, "221 ") {
		t.Fatalf("QUIT reply %q", got)
	}
}
