package queue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"sort"
	"strconv"
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
		{"a\rb.\r\n.", "a\r\nb.\r\n..\r\n.\r\n"},
		{"\r\r\n", "\r\n\r\n.\r\n"},
		// SMTP smuggling: what a lenient server might take for the end of
		// data becomes a dot-stuffed line.
		{"x\r.\r\nMAIL FROM:<a@b>", "x\r\n..\r\nMAIL FROM:<a@b>\r\n.\r\n"},
		{"x\n.\nRCPT", "x\r\n..\r\nRCPT\r\n.\r\n"},
		{"x\r\n.\rDATA", "x\r\n..\r\nDATA\r\n.\r\n"},
		{"x\n.\r\n", "x\r\n..\r\n.\r\n"},
	} {
		if got := dotWrite([]byte(tc.in), 0); got != tc.want {
			t.Errorf("dot-stuffing %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDotWriter: the content on the wire is net/textproto's for the
// content with its line ends made CRLF, in whatever pieces it is written.
func FuzzDotWriter(f *testing.F) {
	f.Add([]byte(".a\r\n..b\nc\r\r\n.\r\n"), uint8(3))
	f.Add([]byte("\n.\n"), uint8(1))
	f.Add([]byte("x\r.\r\ny\r"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		var want bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want))
		dw := tw.DotWriter()
		dw.Write([]byte(crlfLines(in)))
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
	deliverOnce(t, srv, map[*Message]string{
		relayTo("bad@example.test", "b@example.test"): ".dot\r\n" + origBody,
		relayTo("bad@example.test"):                   origBody,
	})
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

// relayTo is a message from a@sender.test to rcpts.
func relayTo(rcpts ...string) *Message {
	return &Message{Route: RouteRelay, From: "a@sender.test", To: rcpts}
}

// deliverOnce enqueues each message with its body, runs one delivery pass
// to srv and checks that every entry was delivered or bounced.
func deliverOnce(t *testing.T, srv *lockStepServer, msgs map[*Message]string) {
	t.Helper()
	db, dir := openDB(t)
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Workers = srv.addr, 1
	q := newQueue(t, db, cfg)
	var ids []string
	for m, body := range msgs {
		ids = append(ids, enqueue(t, q, m, body))
	}
	if err := q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := q.Get(id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("entry %s left after delivery and bounce: %v", id, err)
		}
	}
}

// lockStepServer is a plain RFC 5321 server without extensions beyond
// 8BITMIME and those in ext; it refuses bad@ recipients and notes any
// command that arrived before the reply to the previous one. With
// CHUNKING in ext it takes BDAT (RFC 3030), whose commands it keeps.
type lockStepServer struct {
	addr string
	ext  []string

	mu        sync.Mutex
	conns     int
	pipelined bool
	data      []string
	bdat      []string // BDAT command lines
}

func startLockStepServer(t *testing.T, ext ...string) *lockStepServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &lockStepServer{addr: ln.Addr().String(), ext: ext}
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
	rcpts := 0
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
			tp.PrintfLine("250-lockstep.test\r\n%s250 8BITMIME", extLines(s.ext))
		case "RCPT":
			if strings.Contains(arg, "bad@") {
				tp.PrintfLine("550 5.1.1 no such user")
			} else {
				rcpts++
				tp.PrintfLine("250 ok")
			}
		case "BDAT":
			// Only "BDAT n LAST" is expected: a whole message in one chunk.
			size, _, _ := strings.Cut(arg, " ")
			n, err := strconv.Atoi(size)
			if err != nil {
				return
			}
			chunk := make([]byte, n)
			if _, err := io.ReadFull(tp.R, chunk); err != nil {
				return
			}
			s.mu.Lock()
			s.bdat = append(s.bdat, line)
			if rcpts > 0 {
				s.data = append(s.data, string(chunk))
			}
			s.mu.Unlock()
			if rcpts == 0 {
				tp.PrintfLine("554 5.5.1 no valid recipients")
			} else {
				tp.PrintfLine("250 ok")
			}
			rcpts = 0
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
			rcpts = 0
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 ok")
		}
	}
}

func extLines(ext []string) string {
	var b strings.Builder
	for _, e := range ext {
		b.WriteString("250-" + e + "\r\n")
	}
	return b.String()
}

// TestChunkedTransaction: to a server offering CHUNKING and PIPELINING the
// whole transaction leaves in one write as BDAT n LAST, with the message in
// the same canonical form DATA would give it and no dot-stuffing; a
// refused recipient still bounces and a transaction with none accepted
// leaves the connection usable.
func TestChunkedTransaction(t *testing.T) {
	srv := startLockStepServer(t, "PIPELINING", "CHUNKING")
	deliverOnce(t, srv, map[*Message]string{
		relayTo("bad@example.test", "b@example.test"): ".dot\nbare LF\r\n" + origBody + "no final line break",
		relayTo("bad@example.test"):                   origBody,
		relayTo("c@example.test"):                     origBody,
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	want := ".dot\r\nbare LF\r\n" + origBody + "no final line break\r\n"
	// The queue delivers in no particular order.
	sort.Strings(srv.data)
	if len(srv.data) != 2 || srv.data[0] != want || srv.data[1] != origBody {
		t.Fatalf("server received %q", srv.data)
	}
	if len(srv.bdat) != 3 || !slices.Contains(srv.bdat, fmt.Sprintf("BDAT %d LAST", len(want))) {
		t.Fatalf("BDAT commands %q", srv.bdat)
	}
	if !srv.pipelined || srv.conns != 1 {
		t.Fatalf("pipelined %v over %d connections, want true over 1", srv.pipelined, srv.conns)
	}
}

// TestPipelinedDataWithoutChunking: a server offering PIPELINING alone
// gets MAIL, RCPT and DATA together, then the dot-stuffed message.
func TestPipelinedDataWithoutChunking(t *testing.T) {
	srv := startLockStepServer(t, "PIPELINING")
	deliverOnce(t, srv, map[*Message]string{relayTo("bad@example.test", "b@example.test"): ".dot\r\n" + origBody})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.data) != 1 || srv.data[0] != "..dot\r\n"+origBody || len(srv.bdat) != 0 {
		t.Fatalf("server received %q, BDAT %q", srv.data, srv.bdat)
	}
	if !srv.pipelined {
		t.Fatal("commands were not pipelined")
	}
}

// FuzzCRLFWriter: BDAT content is the message with each bare LF or bare CR
// made CRLF and a final line break added, however it is written;
// canonicalSize counts it exactly. DATA content agrees, dot-stuffing aside.
func FuzzCRLFWriter(f *testing.F) {
	f.Add([]byte(".a\r\n..b\nc\r\r\n.\r\n"), uint8(3))
	f.Add([]byte("\n.\n\r"), uint8(1))
	f.Add([]byte(""), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		cw := &crlfWriter{w: bw}
		var size canonicalSize
		for rest := in; len(rest) > 0; {
			n := len(rest)
			if split > 0 {
				n = min(int(split), n)
			}
			cw.Write(rest[:n])
			size.Write(rest[:n])
			rest = rest[n:]
		}
		cw.close()
		bw.Flush()
		if want := canonical(in); out.String() != want {
			t.Fatalf("BDAT content of %q = %q, want %q", in, out.String(), want)
		}
		if size.total() != int64(out.Len()) {
			t.Fatalf("size of %q counted %d, sent %d", in, size.total(), out.Len())
		}
	})
}

// canonical is the plain statement of what crlfWriter does.
func canonical(in []byte) string {
	out := crlfLines(in)
	if !strings.HasSuffix(out, "\n") {
		out += "\r\n"
	}
	return out
}

// crlfLines is in with each bare LF and each bare CR (one not followed by
// LF, at the end too) made CRLF.
func crlfLines(in []byte) string {
	var b strings.Builder
	for i, c := range in {
		if c == '\n' && (i == 0 || in[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(c)
		if c == '\r' && (i == len(in)-1 || in[i+1] != '\n') {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
