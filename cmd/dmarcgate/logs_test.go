package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
)

// logLines returns the lines of the gateway's log holding every one of subs.
func logLines(h *harness, subs ...string) []string {
	var out []string
next:
	for _, line := range strings.Split(h.logs.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// waitLine waits for a log line holding every one of subs and returns it.
func waitLine(t *testing.T, h *harness, subs ...string) string {
	t.Helper()
	var lines []string
	deadline := time.Now().Add(10 * time.Second)
	for lines = logLines(h, subs...); len(lines) == 0; lines = logLines(h, subs...) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", subs, h.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return lines[0]
}

// The message line names every recipient and the Message-ID, so a
// postmaster finds it by either; a long list is cut with the total.
func TestMessageLineNamesRecipientsAndMessageID(t *testing.T) {
	h := newHarness(t, nil)
	from := "alice@nopolicy.example"
	msg := strings.Replace(message(from, "traced"), "Message-ID: <", "Message-ID: <trace-1.\x01", 1)
	to := []string{"bob@example.org", "carol@example.org", "dave@example.net"}
	if err := h.send(from, to, msg); err != nil {
		t.Fatal(err)
	}
	line := waitLine(t, h, `msg="message accepted"`)
	for _, want := range []string{` to="[bob@example.org carol@example.org dave@example.net]"`, " rcpts=3 ", " msgid=<trace-1.?"} {
		if !strings.Contains(line, want) {
			t.Errorf("accepted line lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, "rcpts_total") {
		t.Errorf("rcpts_total= on a list not cut: %s", line)
	}

	var many []string
	for i := range 25 {
		many = append(many, fmt.Sprintf("u%02d@example.org", i))
	}
	if err := h.send(from, many, message(from, "many")); err != nil {
		t.Fatal(err)
	}
	line = waitLine(t, h, `msg="message accepted"`, "u00@example.org")
	if !strings.Contains(line, "u19@example.org]") || strings.Contains(line, "u20@") || !strings.Contains(line, " rcpts_total=25") {
		t.Errorf("25 recipients: want u00..u19 listed and rcpts_total=25: %s", line)
	}
}

// A message refused for its From field says why, in the reply and in why=.
func TestBadFromLogSaysWhy(t *testing.T) {
	h := newHarness(t, nil)
	from := "alice@nopolicy.example"
	body := "To: <bob@example.org>\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n%s\r\nhi\r\n"
	cases := []struct{ name, fields, why string }{
		{"none", "", `why="no usable From: no From header field"`},
		{"several", "From: <a@nopolicy.example>\r\nFrom: <b@nopolicy.example>\r\n", `why="no usable From: more than one From`},
		{"unparsable", "From: not an address\r\n", `why="no usable From: From header field has no usable mailbox`},
	}
	for _, c := range cases {
		err := h.send(from, []string{"bob@example.org"}, fmt.Sprintf(body, c.name, c.name, c.fields))
		if got := smtpCode(err); got != "550 5.7.1" {
			t.Errorf("%s: %s, want 550 5.7.1", c.name, got)
		}
		line := waitLine(t, h, `msg="message refused"`, "msgid=<"+c.name+"@test>")
		if !strings.Contains(line, c.why) || !strings.Contains(line, "action=bad-from") {
			t.Errorf("%s: want %s and action=bad-from: %s", c.name, c.why, line)
		}
	}
}

// Each refusal a client meets before DATA ends gets its line: relay
// denied, unknown user, too many recipients, too big at MAIL and in DATA.
func TestRefusalLines(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.MaxMessageSize = 4096
		c.SMTP.MaxRecipients = 2
		c.Relay.VerifyRecipients = true
	})
	h.sink.SetReply(func(from string, to []string) *smtp.SMTPError {
		if strings.HasPrefix(to[len(to)-1], "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "unknown user"}
		}
		return nil
	})
	from := "alice@nopolicy.example"
	err := h.send(from, []string{"carol@elsewhere.example"}, message(from, "x"))
	if got := smtpCode(err); got != "550 5.7.1" {
		t.Errorf("relay: %s", got)
	}
	waitLine(t, h, `msg="recipient refused"`, "client=127.0.0.1", "from="+from, "rcpt=carol@elsewhere.example", "reason=relay_denied")

	err = h.send(from, []string{"nobody@example.org"}, message(from, "x"))
	if got := smtpCode(err); got != "550 5.1.1" {
		t.Errorf("unknown user: %s", got)
	}
	waitLine(t, h, `msg="recipient refused"`, "rcpt=nobody@example.org", "reason=unknown_user")

	err = h.send(from, []string{"bob@example.org", "carol@example.org", "dave@example.org"}, message(from, "x"))
	if got := smtpCode(err); got != "452 4.5.3" {
		t.Errorf("third RCPT: %s", got)
	}
	waitLine(t, h, `msg="recipient refused"`, "from="+from, "reason=too_many")

	c, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, &smtp.MailOptions{Size: 10000}); smtpCode(err) != "552 5.3.4" {
		t.Errorf("MAIL SIZE=10000: %v", err)
	}
	c.Close()
	waitLine(t, h, `msg="message refused for its size"`, "from="+from, "at=MAIL", "size=10000", "max=4096")

	big := message(from, "big") + strings.Repeat(strings.Repeat("y", 78)+"\r\n", 100)
	if err := h.send(from, []string{"carol@example.org"}, big); smtpCode(err) != "552 5.3.4" {
		t.Errorf("big DATA: %v", err)
	}
	waitLine(t, h, `msg="message refused for its size"`, "at=DATA", "to=[carol@example.org]", "max=4096")

	conn := dialWhenFree(t, h.addr)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := textproto.NewReader(bufio.NewReader(conn))
	fmt.Fprintf(conn, "EHLO chunks.test\r\nMAIL FROM:<%s>\r\nRCPT TO:<dave@example.org>\r\n", from)
	// Three chunks: the third passes max_message_size.
	chunk := strings.Repeat("z", 1500)
	for i, code := range []int{250, 250, 250, 250, 250, 552} {
		if i >= 3 {
			fmt.Fprintf(conn, "BDAT %d\r\n%s", len(chunk), chunk)
		}
		if _, _, err := r.ReadResponse(code); err != nil {
			t.Fatalf("reply %d: want %d: %v", i, code, err)
		}
	}
	waitLine(t, h, `msg="message refused for its size"`, "at=BDAT", "from="+from, "to=[dave@example.org]", "max=4096")
}

// A connection refused by max_connections_per_ip or max_connections gets a
// line naming the limit.
func TestConnectionRefusalLines(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.MaxConnectionsPerIP = 2
		c.SMTP.MaxConnections = 3
	})
	dialFrom := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := textproto.NewReader(bufio.NewReader(c)).ReadLine(); err != nil {
			t.Fatalf("banner from %s: %v", src, err)
		}
		return c
	}
	dialFrom("127.0.0.1")
	dialFrom("127.0.0.1")
	dialFrom("127.0.0.1") // per IP
	waitLine(t, h, `msg="connection refused"`, "client=127.0.0.1", "reason=max_connections_per_ip")
	dialFrom("127.0.0.2")
	dialFrom("127.0.0.3") // in all
	if line := waitLine(t, h, `msg="connection refused"`, "client=127.0.0.3"); !strings.HasSuffix(line, " reason=max_connections") {
		t.Errorf("want reason=max_connections: %s", line)
	}
}

// A failed STARTTLS handshake gets a line with the client and the error.
func TestTLSFailureLine(t *testing.T) {
	certFile, keyFile := writeTestCert(t, t.TempDir())
	h := newHarness(t, func(c *config.Config) { c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile })
	c := dialWhenFree(t, h.addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := textproto.NewReader(bufio.NewReader(c))
	fmt.Fprintf(c, "EHLO tls.client.test\r\n")
	if _, _, err := r.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "STARTTLS\r\n")
	if _, _, err := r.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	// A client that offers only TLS 1.0 fails the handshake.
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
	if err := tc.Handshake(); err == nil {
		t.Fatal("a TLS 1.0 handshake succeeded")
	}
	waitLine(t, h, `msg="TLS handshake failed"`, "client=127.0.0.1", "helo=tls.client.test", "err=", "unsupported versions")
}
