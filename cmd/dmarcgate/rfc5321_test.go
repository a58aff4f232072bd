package main

import (
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"dmarcgate/config"
)

// rawClient speaks SMTP line by line, to see the replies as they are.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	text *textproto.Conn
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &rawClient{t: t, conn: conn, text: textproto.NewConn(conn)}
	t.Cleanup(func() { conn.Close() })
	c.reply() // the greeting
	return c
}

// reply reads one reply, its lines joined with "\n".
func (c *rawClient) reply() string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.text.ReadLine()
		if err != nil {
			c.t.Fatalf("reading a reply after %q: %v", lines, err)
		}
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// cmd sends a command line and returns its reply.
func (c *rawClient) cmd(line string) string {
	c.t.Helper()
	if err := c.text.PrintfLine("%s", line); err != nil {
		c.t.Fatal(err)
	}
	return c.reply()
}

func wantPrefix(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Errorf("%s: %q, want it to begin %q", what, got, want)
	}
}

// RFC 5321 §4.1.1.1: EHLO and HELO replies begin with our domain; RFC 3463
// codes: X.1.0 for MAIL, X.1.5 for RCPT, X.0.0 elsewhere.
func TestRepliesAreOurs(t *testing.T) {
	h := newHarness(t, nil)
	c := dialRaw(t, h.addr)
	ehlo := c.cmd("EHLO client.example")
	wantPrefix(t, "EHLO", ehlo, "250-mx.test.example Hello client.example\n")
	wantPrefix(t, "HELO", c.cmd("HELO client.example"), "250 mx.test.example Hello client.example")
	wantPrefix(t, "RCPT before MAIL", c.cmd("RCPT TO:<bob@example.org>"), "503 5.5.1 ")
	wantPrefix(t, "MAIL", c.cmd("MAIL FROM:<alice@good.example>"), "250 2.1.0 sender <alice@good.example> OK")
	wantPrefix(t, "DATA before RCPT", c.cmd("DATA"), "503 5.5.1 ")
	wantPrefix(t, "RCPT", c.cmd("RCPT TO:<bob@example.org>"), "250 2.1.5 recipient <bob@example.org> OK")
	wantPrefix(t, "RCPT relay", c.cmd("RCPT TO:<bob@elsewhere.example>"), "550 5.7.1 ")
	wantPrefix(t, "NOOP", c.cmd("NOOP"), "250 2.0.0 OK")
	wantPrefix(t, "RSET", c.cmd("RSET"), "250 2.0.0 OK")
	c.cmd("MAIL FROM:<alice@good.example>")
	c.cmd("RCPT TO:<bob@example.org>")
	wantPrefix(t, "DATA", c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
	wantPrefix(t, "end of data", c.cmd(strings.TrimSuffix(message("alice@good.example", "hi"), "\r\n")+"\r\n."), "250 2.0.0 OK queued as ")
	wantPrefix(t, "QUIT", c.cmd("QUIT"), "221 2.0.0 mx.test.example closing connection")
}

// RFC 5321 §4.5.1: RCPT TO:<Postmaster> without a domain, in any case, is
// taken and goes to smtp.postmaster_address.
func TestPostmasterWithoutDomain(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.SMTP.PostmasterAddress = "hostmaster@example.net" })
	c := dialRaw(t, h.addr)
	c.cmd("EHLO client.example")
	c.cmd("MAIL FROM:<alice@good.example>")
	wantPrefix(t, "RCPT", c.cmd("RCPT TO:<PostMaster>"), "250 2.1.5 ")
	wantPrefix(t, "RCPT bare local part", c.cmd("RCPT TO:<bob>"), "501 ")
	c.cmd("DATA")
	wantPrefix(t, "end of data", c.cmd(strings.TrimSuffix(message("alice@good.example", "hi"), "\r\n")+"\r\n."), "250 ")
	got, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if to := got[0].To; len(to) != 1 || to[0] != "hostmaster@example.net" {
		t.Errorf("relayed to %q, want hostmaster@example.net", to)
	}
}

// A client idle when the gateway shuts down gets 421 4.3.2, and so does a
// transaction begun then.
func TestShutdownReply(t *testing.T) {
	h := newHarness(t, nil)
	c := dialRaw(t, h.addr)
	c.cmd("EHLO client.example")
	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()
	wantPrefix(t, "idle client at shutdown", c.reply(), "421 4.3.2 mx.test.example service shutting down")
	<-stopped
}

// A DATA ended with bare LFs ("<LF>.<LF>") is no end of data (RFC 5321
// §4.1.1.4): the client, which waits for a reply, is told so once the
// read times out.
func TestDataEndedByBareLF(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.SMTP.ReadTimeout.Duration = 300 * time.Millisecond })
	c := dialRaw(t, h.addr)
	c.cmd("EHLO client.example")
	c.cmd("MAIL FROM:<alice@good.example>")
	c.cmd("RCPT TO:<bob@example.org>")
	c.cmd("DATA")
	msg := strings.ReplaceAll(message("alice@good.example", "bare"), "\r\n", "\n") + "body\n.\n"
	if _, err := c.conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := c.reply()
	wantPrefix(t, "reply", got, "554 5.5.2 ")
	if !strings.Contains(got, "bare LF") {
		t.Errorf("reply %q does not name the bare LF", got)
	}
}
