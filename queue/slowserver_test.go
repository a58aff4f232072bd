package queue

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// startSlowServer is an SMTP server on 127.0.0.1 that answers every
// command correctly, each reply just after delay: within any one stage's
// timeout, but adding up.
func startSlowServer(t *testing.T, delay time.Duration) net.Listener {
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
			go slowDialogue(c, delay)
		}
	}()
	return ln
}

func slowDialogue(c net.Conn, delay time.Duration) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(s string) bool {
		time.Sleep(delay)
		_, err := c.Write([]byte(s + "\r\n"))
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
			inData = say("354 go on")
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("250 2.0.0 ok")
		}
	}
}

// A server that takes almost a stage's timeout for every reply cannot
// hold a delivery past the transaction's deadline.
func TestTransactionHasOneDeadline(t *testing.T) {
	db, dir := openDB(t)
	ln := startSlowServer(t, 700*time.Millisecond)
	cfg := testConfig(dir)
	cfg.RelayAddr = ln.Addr().String()
	cfg.CommandTimeout = time.Second
	cfg.TransactionTimeout = 2 * time.Second
	q := newQueue(t, db, cfg)
	start(t, q)
	begin := time.Now()
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
	waitFor(t, 6*time.Second, "the attempt to end", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts > 0
	})
	if took := time.Since(begin); took > 3500*time.Millisecond {
		t.Errorf("attempt took %s with a 2s transaction deadline", took)
	}
	m, _ := q.Get(id)
	if !strings.Contains(m.LastError, "timed out") {
		t.Errorf("last error %q does not say it timed out", m.LastError)
	}
}
