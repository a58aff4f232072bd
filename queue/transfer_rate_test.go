package queue

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// startSlowReader is an SMTP server on 127.0.0.1 that answers at once but
// takes a message in at about rate bytes per second, a little at a time,
// so that no single write ever waits long.
func startSlowReader(t *testing.T, rate int) net.Listener {
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
			go slowReading(c, rate)
		}
	}()
	return ln
}

func slowReading(c net.Conn, rate int) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReaderSize(c, 4096)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 slowread.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch strings.ToUpper(strings.SplitN(strings.TrimSpace(line), " ", 2)[0]) {
		case "EHLO":
			say("250 slowread.test")
		case "DATA":
			say("354 go on")
			chunk := rate / 10
			for {
				if _, err := io.CopyN(io.Discard, r, int64(chunk)); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		default:
			say("250 2.0.0 ok")
		}
	}
}

// A server that takes the message in a trickle cannot hold a delivery
// longer than a data block's timeout plus the size at the minimum rate.
func TestMinimumTransferRate(t *testing.T) {
	db, dir := openDB(t)
	ln := startSlowReader(t, 640<<10)
	cfg := testConfig(dir)
	cfg.RelayAddr = ln.Addr().String()
	cfg.CommandTimeout = 3 * time.Second
	cfg.MinTransferRate = 8 << 20
	q := newQueue(t, db, cfg)
	start(t, q)
	body := origHeader + "\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", (16<<20)/80)
	begin := time.Now()
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, body)
	waitFor(t, 10*time.Second, "the attempt to end", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts > 0
	})
	// 3s data block + 16 MiB at 8 MiB/s = 5s, against ~25s at the server's pace.
	if took := time.Since(begin); took > 7*time.Second {
		t.Errorf("attempt took %s", took)
	}
	if m, _ := q.Get(id); !strings.Contains(m.LastError, "timed out") {
		t.Errorf("last error %q does not say it timed out", m.LastError)
	}
}
