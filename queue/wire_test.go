package queue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		msg  string
		err  bool
	}{
		{"250 ok\r\n", 250, "ok", false},
		{"220\r\n", 220, "", false},
		{"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n", 250, "mx.test\nPIPELINING\nSIZE 100", false},
		{"550 5.1.1 no\n", 550, "5.1.1 no", false}, // bare LF tolerated
		{"250-a\r\n251 b\r\n", 0, "", true},        // code changes
		{"25 short\r\n", 0, "", true},
		{"150 one-digit class\r\n", 0, "", true},
		{"250x\r\n", 0, "", true},
		{"abc def\r\n", 0, "", true},
		{"250-unfinished\r\n", 0, "", true}, // EOF within the reply
		{"250 no newline", 0, "", true},
		{"", 0, "", true},
	} {
		code, msg, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		if (err != nil) != tc.err || code != tc.code || msg != tc.msg {
			t.Errorf("readReply(%q) = %d %q %v", tc.in, code, msg, err)
		}
	}
}

func TestReadReplyBounds(t *testing.T) {
	long := "250 " + strings.Repeat("x", 5000) + "\r\n"
	if _, _, err := readReply(bufio.NewReaderSize(strings.NewReader(long), readBuffer)); !errors.Is(err, errBadReply) {
		t.Errorf("over-long line: %v", err)
	}
	many := strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n"
	if _, _, err := readReply(bufio.NewReader(strings.NewReader(many))); !errors.Is(err, errBadReply) {
		t.Errorf("%d-line reply: %v", maxReplyLines+1, err)
	}
}

func TestReplyFrom(t *testing.T) {
	for _, tc := range []struct {
		code int
		msg  string
		enh  smtp.EnhancedCode
		text string
	}{
		{550, "5.1.1 no such user", smtp.EnhancedCode{5, 1, 1}, "no such user"},
		{550, "5.1.1 first\n5.1.1 second", smtp.EnhancedCode{5, 1, 1}, "first\nsecond"},
		{451, "try later", smtp.NoEnhancedCode, "try later"},
		{451, "4.3 try later", smtp.NoEnhancedCode, "4.3 try later"},
		{451, "4.x.0 later", smtp.NoEnhancedCode, "4.x.0 later"},
		{554, "", smtp.NoEnhancedCode, ""},
	} {
		se := replyFrom(tc.code, tc.msg)
		if se.Code != tc.code || se.EnhancedCode != tc.enh || se.Message != tc.text {
			t.Errorf("replyFrom(%d, %q) = %+v", tc.code, tc.msg, se)
		}
	}
}

// FuzzReadReply: whatever a server sends, readReply returns a reply with a
// valid code or an error, and never reads past its bounds.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte("250-mx\r\n250 PIPELINING\r\n"))
	f.Add([]byte("550 5.1.1 x\n"))
	f.Add([]byte("2500\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		code, msg, err := readReply(bufio.NewReaderSize(bytes.NewReader(in), 16))
		if err != nil {
			return
		}
		if code < 200 || code > 599 || len(msg) > len(in) {
			t.Fatalf("readReply(%q) = %d %q", in, code, msg)
		}
		_ = replyText(replyFrom(code, msg))
	})
}

func TestDotWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "\r\n.\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a", "a\r\n.\r\n"},
		{".a\r\n..b\r\n", "..a\r\n...b\r\n.\r\n"},
		{"a\nb\n", "a\r\nb\r\n.\r\n"},
		{"a\r", "a\r\n.\r\n"},
		{"a\rb.\r\n.", "a\rb.\r\n..\r\n.\r\n"},
	} {
		if got := dotWrite([]byte(tc.in), 0); got != tc.want {
			t.Errorf("dot-stuffing %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDotWriter: the content on the wire is exactly net/textproto's, in
// whatever pieces it is written.
func FuzzDotWriter(f *testing.F) {
	f.Add([]byte(".a\r\n..b\nc\r\r\n.\r\n"), uint8(3))
	f.Add([]byte("\n.\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		var want bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want))
		dw := tw.DotWriter()
		dw.Write(in)
		dw.Close()
		if got := dotWrite(in, int(split)); got != want.String() {
			t.Fatalf("dot-stuffing %q = %q, want %q", in, got, want.String())
		}
	})
}

// dotWrite runs in through a dotWriter in pieces of split bytes (0: whole).
func dotWrite(in []byte, split int) string {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	dw := &dotWriter{w: bw}
	for len(in) > 0 {
		n := len(in)
		if split > 0 {
			n = min(split, n)
		}
		dw.Write(in[:n])
		in = in[n:]
	}
	dw.close()
	bw.Flush()
	return out.String()
}

// TestLockStepWithoutPipelining: a server that does not offer PIPELINING
// gets one command at a time, and per-recipient refusals still count.
func TestLockStepWithoutPipelining(t *testing.T) {
	srv := startLockStepServer(t)
	db, dir := openDB(t)
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Workers = srv.addr, 1
	q := newQueue(t, db, cfg)
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test",
		To: []string{"bad@example.test", "b@example.test"}}, ".dot\r\n"+origBody)
	enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"bad@example.test"}}, origBody)
	if err := q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Get(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entry left after delivery and bounce: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.pipelined {
		t.Fatal("commands were pipelined to a server without PIPELINING")
	}
	if len(srv.data) != 1 || srv.data[0] != "..dot\r\n"+origBody {
		t.Fatalf("server received %q", srv.data)
	}
	if srv.conns != 1 {
		t.Fatalf("%d connections, want 1", srv.conns)
	}
}

// lockStepServer is a plain RFC 5321 server without extensions beyond
// 8BITMIME; it refuses bad@ recipients and notes any command that arrived
// before the reply to the previous one.
type lockStepServer struct {
	addr string

	mu        sync.Mutex
	conns     int
	pipelined bool
	data      []string
}

func startLockStepServer(t *testing.T) *lockStepServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &lockStepServer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	return s
}

func (s *lockStepServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 lockstep.test")
	for i := 0; i < 1000; i++ {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		if tp.R.Buffered() > 0 {
			s.mu.Lock()
			s.pipelined = true
			s.mu.Unlock()
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			tp.PrintfLine("250-lockstep.test\r\n250 8BITMIME")
		case "RCPT":
			if strings.Contains(arg, "bad@") {
				tp.PrintfLine("550 5.1.1 no such user")
			} else {
				tp.PrintfLine("250 ok")
			}
		case "DATA":
			tp.PrintfLine("354 go on")
			var b strings.Builder
			for {
				l, err := tp.R.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = append(s.data, b.String())
			s.mu.Unlock()
			tp.PrintfLine("250 ok")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 ok")
		}
	}
}
