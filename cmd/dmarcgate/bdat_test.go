package main

import (
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// bdatClient is a raw SMTP client for CHUNKING (RFC 3030), which go-smtp's
// client does not send.
type bdatClient struct {
	t    *testing.T
	conn net.Conn
	text *textproto.Conn
}

func dialBDAT(t *testing.T, addr string) *bdatClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := &bdatClient{t: t, conn: conn, text: textproto.NewConn(conn)}
	t.Cleanup(func() { conn.Close() })
	c.expect(220)
	c.cmd(250, "EHLO client.test")
	return c
}

// cmd sends line and checks the reply code; it returns the reply text.
func (c *bdatClient) cmd(code int, line string) string {
	c.t.Helper()
	if err := c.text.PrintfLine("%s", line); err != nil {
		c.t.Fatal(err)
	}
	return c.expect(code)
}

func (c *bdatClient) expect(code int) string {
	c.t.Helper()
	_, msg, err := c.text.ReadResponse(code)
	if err != nil {
		c.t.Fatalf("want %d: %v", code, err)
	}
	return msg
}

// chunk sends BDAT with data and, if code is not 0, checks the reply.
func (c *bdatClient) chunk(data string, last bool, code int) {
	c.t.Helper()
	line := fmt.Sprintf("BDAT %d", len(data))
	if last {
		line += " LAST"
	}
	if _, err := fmt.Fprintf(c.text.W, "%s\r\n%s", line, data); err != nil {
		c.t.Fatal(err)
	}
	if err := c.text.W.Flush(); err != nil {
		c.t.Fatal(err)
	}
	if code != 0 {
		c.expect(code)
	}
}

// TestBDATInbound: a message in several chunks arrives whole; RSET in the
// middle of one, and a client gone in the middle of another, leave nothing
// behind (go-smtp runs Data on its own goroutine for BDAT, and calls Reset
// while it runs), and the server goes on.
func TestBDATInbound(t *testing.T) {
	h := newHarness(t, nil)
	msg := message("alice@nopolicy.example", "chunked") + "line with no dot stuffing\r\n.\r\n"

	c := dialBDAT(t, h.addr)
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	c.cmd(250, "RCPT TO:<bob@example.org>")
	c.chunk(msg[:40], false, 250)
	c.chunk(msg[40:], true, 250)

	// RSET while the session is still reading the message.
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	c.cmd(250, "RCPT TO:<bob@example.org>")
	c.chunk(message("alice@nopolicy.example", "abandoned")[:50], false, 250)
	c.cmd(250, "RSET")
	c.cmd(250, "NOOP")
	// Another message on this connection would meet a race inside go-smtp
	// (v0.25.1): the abandoned chunk's goroutine may still hand its result
	// to the next BDAT's channel.
	c.cmd(221, "QUIT")

	// A client that goes away in the middle of a message.
	gone := dialBDAT(t, h.addr)
	gone.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	gone.cmd(250, "RCPT TO:<bob@example.org>")
	gone.chunk(message("alice@nopolicy.example", "dropped")[:50], false, 250)
	gone.conn.Close()

	// The server goes on.
	c = dialBDAT(t, h.addr)
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	c.cmd(250, "RCPT TO:<bob@example.org>")
	second := message("alice@nopolicy.example", "second")
	c.chunk(second, true, 250)
	c.cmd(221, "QUIT")

	got, err := h.sink.Wait(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // anything else would have arrived by now
	if n := h.sink.Count(); n != 2 {
		t.Fatalf("sink has %d messages, want the 2 complete ones", n)
	}
	for _, want := range []string{msg, second} {
		found := false
		for _, m := range got {
			if strings.HasSuffix(string(m.Data), want) {
				splitDelivered(t, m.Data, want)
				found = true
			}
		}
		if !found {
			t.Errorf("message not delivered whole:\n%s", want)
		}
	}
}
