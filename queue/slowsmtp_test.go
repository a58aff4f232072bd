package queue

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// slowSMTP says how the server of startSlowSMTP is slow: each stage stays
// within its own timeout, so only a bound on the whole shows.
type slowSMTP struct {
	// ReplyDelay comes before every reply: each in time, adding up.
	ReplyDelay time.Duration
	// DataRate, when set, is the pace in bytes per second at which the
	// message is taken in, a little at a time so that no single write
	// waits long; the message is then never answered.
	DataRate int
}

// startSlowSMTP is an SMTP server on 127.0.0.1, slow as s says, that
// answers every command correctly otherwise; it stops when t ends.
func startSlowSMTP(t *testing.T, s slowSMTP) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return ln
}

func (s slowSMTP) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	say := func(msg string) bool {
		time.Sleep(s.ReplyDelay)
		_, err := c.Write([]byte(msg + "\r\n"))
		return err == nil
	}
	if !say("220 slow.test ESMTP") {
		return
	}
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case inData && line == ".":
			inData = false
			say("250 2.0.0 taken")
		case inData:
		case verb == "EHLO":
			say("250-slow.test\r\n250 8BITMIME")
		case verb == "DATA":
			if !say("354 go on") {
				return
			}
			if s.DataRate > 0 {
				s.trickle(r)
				return
			}
			inData = true
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("250 2.0.0 ok")
		}
	}
}

// trickle takes in what r brings at s.DataRate, in tenths of a second.
func (s slowSMTP) trickle(r io.Reader) {
	chunk := int64(max(1, s.DataRate/10))
	for {
		if _, err := io.CopyN(io.Discard, r, chunk); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
