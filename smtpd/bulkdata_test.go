package smtpd

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// captured is what a test server's session got from DATA.
type captured struct {
	msg     string
	err     string
	beneath bool
}

// captureBackend keeps each message, read beneath go-smtp (copyDATA) or by
// go-smtp's own reader.
type captureBackend struct {
	beneath bool
	mu      sync.Mutex
	got     []captured
}

func (b *captureBackend) reset() {
	b.mu.Lock()
	b.got = nil
	b.mu.Unlock()
}

// taken is what the sessions got; they are over once transcript returns,
// since the server closed the connection.
func (b *captureBackend) taken() []captured {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got
}

func (b *captureBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &captureSession{b: b, c: c}, nil
}

type captureSession struct {
	b *captureBackend
	c *smtp.Conn
}

func (s *captureSession) Reset()        {}
func (s *captureSession) Logout() error { return nil }
func (s *captureSession) Mail(string, *smtp.MailOptions) error {
	return nil
}
func (s *captureSession) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (s *captureSession) Data(r io.Reader) error {
	var msg bytes.Buffer
	var got captured
	var err error
	if s.b.beneath {
		srv := s.c.Server()
		_, got.beneath, err = s.c.Conn().(*limitedConn).copyDATA(r, &msg, srv.MaxMessageBytes, make([]byte, 32<<10))
	} else {
		_, err = io.Copy(&msg, r)
	}
	if err != nil {
		got.err = err.Error()
	} else {
		got.msg = msg.String()
	}
	s.b.mu.Lock()
	s.b.got = append(s.b.got, got)
	s.b.mu.Unlock()
	return err
}

// startCaptureServer serves go-smtp on our limitListener, as Server does.
func startCaptureServer(t testing.TB, beneath bool, maxSize int64) (string, *captureBackend) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := newLimitListener(l, 10, 10, 5*time.Second, time.Minute, nil)
	b := &captureBackend{beneath: beneath}
	srv := smtp.NewServer(b)
	srv.Domain = "mx.test"
	srv.MaxMessageBytes = maxSize
	done := make(chan struct{})
	go func() { _ = srv.Serve(ll); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String(), b
}

// transcript sends the commands up to DATA, waits for the 354 unless
// early, sends parts one write each, and returns all the server said
// until it closed.
func transcript(t *testing.T, addr string, early bool, parts ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var said bytes.Buffer
	head := "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n"
	if early {
		parts = append([]string{head + parts[0]}, parts[1:]...)
	} else {
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		for !strings.Contains(said.String(), "\r\n354 ") {
			n, err := c.Read(buf)
			said.Write(buf[:n])
			if err != nil {
				t.Fatalf("no 354: %v: %q", err, said.String())
			}
		}
	}
	for _, p := range parts {
		if _, err := io.WriteString(c, p); err != nil {
			break // the server may close first (a line too long)
		}
		time.Sleep(time.Millisecond) // a read of its own, most of the time
	}
	_ = c.(*net.TCPConn).CloseWrite()
	rest, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading the replies: %v", err)
	}
	return said.String() + string(rest)
}

// sized is a message of n bytes (n%100 != 1) in lines of at most 100.
func sized(n int) string {
	var b strings.Builder
	for n > 0 {
		line := min(n, 100)
		b.WriteString(strings.Repeat("y", line-2) + "\r\n")
		n -= line
	}
	return b.String()
}

// The same bytes from a client give the same message and the same replies
// whether DATA is read beneath go-smtp or by go-smtp's reader.
func TestDATABeneathMatchesGoSMTP(t *testing.T) {
	const maxSize = 3000
	long := strings.Repeat("x", 2100)
	pipelined := strings.Repeat("NOOP\r\n", 1500) // past go-smtp's 4 KiB buffer
	type tc struct {
		name         string
		early        bool
		parts        []string
		wantBeneath  bool
		wantMessages int
	}
	cases := []tc{
		{"plain", false, []string{"Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n"}, true, 1},
		{"dot-stuffed, in pieces", false, []string{"Subject: a\r\n\r\n..one\r", "\n.", ".two\r\n", ".", "\r", "\n", "QUIT\r\n"}, true, 1},
		{"quirks", false, []string{"a\r\n.\rX\r\n.x\r\nb\r\r\n.\r\nc\n.\n\r\n.\r\nQUIT\r\n"}, true, 1},
		{"empty", false, []string{".\r\nQUIT\r\n"}, true, 1},
		{"commands after the end", false, []string{"x\r\n.\r\n" + pipelined + "MAIL FROM:<c@client.test>\r\nRCPT TO:<d@mx.test>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n"}, true, 2},
		{"one under the size limit", false, []string{sized(maxSize-1) + ".\r\nQUIT\r\n"}, true, 1},
		{"just over the size limit", false, []string{sized(maxSize+2) + ".\r\nQUIT\r\n"}, true, 1},
		{"over the size limit", false, []string{strings.Repeat("y\r\n", 2000) + ".\r\nQUIT\r\n"}, true, 1},
		{"line too long", false, []string{"a\r\n" + long + "\r\n.\r\nQUIT\r\n"}, true, 1},
		{"first line one over the limit", false, []string{long[:1999] + "\r\n.\r\nQUIT\r\n"}, true, 1},
		{"line at the limit", false, []string{"a\r\n" + long[:1998] + "\r\n.\r\nQUIT\r\n"}, true, 1},
		{"client gone mid-message", false, []string{"Subject: a\r\n\r\nhalf"}, true, 1},
		{"message before the 354", true, []string{"Subject: a\r\n\r\n..early\r\n.\r\nQUIT\r\n"}, false, 1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		var body []byte
		for range 1 + rng.IntN(300) {
			body = append(body, ".\r\nab "[rng.IntN(6)])
		}
		parts := []string{string(body), "\r\n.\r\nQUIT\r\n"}
		cases = append(cases, tc{fmt.Sprintf("random %d", i), false, parts, true, -1})
	}
	pair := startCapturePair(t, maxSize)
	for _, c := range cases {
		ours := pair.compare(t, c.name, c.early, c.parts...)
		if c.wantMessages >= 0 && len(ours) != c.wantMessages {
			t.Errorf("%s: %d messages, want %d", c.name, len(ours), c.wantMessages)
		}
		if len(ours) > 0 && ours[0].beneath != c.wantBeneath {
			t.Errorf("%s: read beneath go-smtp %v, want %v", c.name, ours[0].beneath, c.wantBeneath)
		}
	}
}

// A message of exactly the size limit is taken beneath go-smtp, as RFC 1870
// has it; go-smtp's own reader refuses it.
func TestDATABeneathTakesTheSizeLimit(t *testing.T) {
	const maxSize = 3000
	pair := startCapturePair(t, maxSize)
	body := sized(maxSize)
	want := map[string]string{pair.ourAddr: "250 ", pair.refAddr: "552 5.3.4"}
	for addr, reply := range want {
		said := transcript(t, addr, false, body+".\r\nQUIT\r\n")
		if !strings.Contains(said, "\r\n354 ") || !strings.Contains(said[strings.Index(said, "\r\n354 "):], "\r\n"+reply) {
			t.Errorf("%s: want %q after the 354: %q", addr, reply, said)
		}
	}
	if got := pair.ours.taken(); len(got) != 1 || got[0].err != "" || len(got[0].msg) != maxSize {
		t.Errorf("ours kept %d messages (%+v), want one of %d bytes", len(got), got, maxSize)
	}
}

// capturePair is a server reading DATA beneath go-smtp and one leaving it
// to go-smtp's reader.
type capturePair struct {
	refAddr, ourAddr string
	ref, ours        *captureBackend
}

func startCapturePair(t testing.TB, maxSize int64) *capturePair {
	p := &capturePair{}
	p.refAddr, p.ref = startCaptureServer(t, false, maxSize)
	p.ourAddr, p.ours = startCaptureServer(t, true, maxSize)
	return p
}

// compare sends the same bytes to both servers, reports any difference in
// the replies or the messages, and returns what ours captured.
func (p *capturePair) compare(t *testing.T, name string, early bool, parts ...string) []captured {
	t.Helper()
	p.ref.reset()
	p.ours.reset()
	want := transcript(t, p.refAddr, early, parts...)
	got := transcript(t, p.ourAddr, early, parts...)
	if got != want {
		t.Errorf("%s: replies differ:\n got %q\nwant %q", name, got, want)
	}
	ours, ref := p.ours.taken(), p.ref.taken()
	if len(ours) != len(ref) {
		t.Errorf("%s: %d messages, go-smtp's reader %d", name, len(ours), len(ref))
	}
	for j := range min(len(ours), len(ref)) {
		o, r := ours[j], ref[j]
		if o.msg != r.msg || o.err != r.err {
			t.Errorf("%s: message %d: got %q (%s), go-smtp's reader %q (%s)", name, j, o.msg, o.err, r.msg, r.err)
		}
	}
	return ours
}

// FuzzDATABeneath sends a message of arbitrary bytes, in two writes, to
// both servers: whatever it holds (ends of data, commands after them, long
// lines, too much), both must say and keep the same.
func FuzzDATABeneath(f *testing.F) {
	pair := startCapturePair(f, 3000)
	f.Add([]byte("Subject: a\r\n\r\n..x\r\n.\r\nQUIT\r\n"), uint16(5))
	f.Add([]byte("a\r\n.\rX\r\n.\r\nMAIL FROM:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\nb\r\n.\r\n"), uint16(30))
	f.Add([]byte(strings.Repeat("y", 2100)+"\r\n.\r\n"), uint16(1000))
	f.Fuzz(func(t *testing.T, body []byte, cut uint16) {
		// A message of exactly the limit is the one known difference
		// (TestDATABeneathTakesTheSizeLimit).
		if msg, _, _ := byteUnstuff([]byte(string(body) + "\r\n.\r\n")); len(msg) == 3000 {
			return
		}
		i := int(cut) % (len(body) + 1)
		pair.compare(t, "fuzz", false, string(body[:i]), string(body[i:])+"\r\n.\r\nQUIT\r\n")
	})
}
