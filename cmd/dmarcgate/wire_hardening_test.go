package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/config"
)

// Wire-level hardening: what a hostile or broken client does to a session
// must end in a clear reply, never in a truncated message, a lost reply or
// a session out of step.

// tlsHarness is a gateway offering STARTTLS.
func tlsHarness(t *testing.T, tweak func(*config.Config)) *harness {
	t.Helper()
	certFile, keyFile := writeTestCert(t, t.TempDir())
	return newHarness(t, func(c *config.Config) {
		c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile
		if tweak != nil {
			tweak(c)
		}
	})
}

// dialSession is dialBDAT, over TLS (STARTTLS, then EHLO again) if useTLS.
func dialSession(t *testing.T, addr string, useTLS bool) *bdatClient {
	t.Helper()
	c := dialBDAT(t, addr)
	if useTLS {
		c.cmd(220, "STARTTLS")
		tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		c.conn, c.text = tc, textproto.NewConn(tc)
		c.cmd(250, "EHLO client.test")
	}
	return c
}

// closeWrite half-closes the client's side: the server reads EOF but can
// still reply.
func (c *bdatClient) closeWrite() {
	c.t.Helper()
	var err error
	switch cc := c.conn.(type) {
	case *tls.Conn:
		err = cc.CloseWrite()
	case *net.TCPConn:
		err = cc.CloseWrite()
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one reply and returns its code and text ("" and the error's
// text when none came).
func (c *bdatClient) reply() (int, string) {
	c.t.Helper()
	code, msg, err := c.text.ReadResponse(0)
	if err != nil && code == 0 {
		return 0, err.Error()
	}
	return code, msg
}

// TestBDATTruncatedChunkRefused: a client that declares a chunk of 5000
// bytes, sends 86 and half-closes gets no 250, and nothing is relayed
// (RFC 3030 §2: the chunk is exactly the size given).
func TestBDATTruncatedChunkRefused(t *testing.T) {
	h := tlsHarness(t, nil)
	for _, useTLS := range []bool{false, true} {
		c := dialSession(t, h.addr, useTLS)
		c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
		c.cmd(250, "RCPT TO:<bob@example.org>")
		msg := message("alice@nopolicy.example", "truncated")[:86]
		if _, err := c.conn.Write([]byte("BDAT 5000 LAST\r\n" + msg)); err != nil {
			t.Fatal(err)
		}
		c.closeWrite()
		code, text := c.reply()
		if code != 451 {
			t.Errorf("tls=%v: truncated chunk got %d %s, want 451", useTLS, code, text)
		}
	}
	// A complete message after them goes through: the server went on.
	c := dialSession(t, h.addr, false)
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	c.cmd(250, "RCPT TO:<bob@example.org>")
	whole := message("alice@nopolicy.example", "whole")
	c.chunk(whole, true, 250)
	c.cmd(221, "QUIT")
	got, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if strings.Contains(string(m.Data), "truncated") {
			t.Errorf("a truncated message was relayed:\n%s", m.Data)
		}
	}
}

// TestTLSLastReplyArrives: over TLS the reply before the server closes
// (221 after QUIT, 421 on an idle timeout) reaches the client, followed by
// a close_notify (the client then reads a clean EOF).
func TestTLSLastReplyArrives(t *testing.T) {
	h := tlsHarness(t, func(c *config.Config) { c.SMTP.ReadTimeout = config.Duration{Duration: time.Second} })
	c := dialSession(t, h.addr, true)
	c.cmd(221, "QUIT")
	if _, err := c.text.ReadLine(); err != io.EOF {
		t.Errorf("after 221: %v, want EOF (close_notify)", err)
	}

	c = dialSession(t, h.addr, true)
	start := time.Now()
	code, text := c.reply()
	if code != 421 || !strings.HasPrefix(text, "4.4.2 ") {
		t.Errorf("idle TLS session got %d %s, want 421 4.4.2", code, text)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle timeout took %v for read_timeout = 1s", d)
	}
}

// TestAddressesCheckedAtMailAndRcpt: an address the queue could not take
// is refused at MAIL or RCPT with a 5xx (RFC 5321 §4.5.3.1.1-3 limits),
// never accepted there and failed with a 451 at the end of DATA.
func TestAddressesCheckedAtMailAndRcpt(t *testing.T) {
	h := newHarness(t, nil)
	c := dialBDAT(t, h.addr)
	long := strings.Repeat("a", 1500)
	c.cmd(501, "MAIL FROM:<"+long+"@nopolicy.example>")
	c.cmd(501, "MAIL FROM:<alice@"+strings.Repeat("d.", 128)+"example>")
	// An SRS return path of forwarded mail: a local part over 64 octets
	// within the 256-octet path is taken from a sender.
	srs := "SRS0=HHH=TT=nopolicy.example=" + strings.Repeat("l", 60)
	c.cmd(250, "MAIL FROM:<"+srs+"@nopolicy.example>")
	c.cmd(250, "RSET")
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	c.cmd(553, `RCPT TO:<"x>y"@example.org>`)
	c.cmd(553, `RCPT TO:<"x<y"@example.org>`)
	c.cmd(501, "RCPT TO:<"+strings.Repeat("l", 65)+"@example.org>")
	// 64 octets of local part, quotes included, is the limit.
	c.cmd(250, `RCPT TO:<"`+strings.Repeat("q", 60)+` x"@example.org>`)
	c.cmd(250, "RCPT TO:<bob@example.org>")
	c.cmd(354, "DATA")
	c.cmd(250, message("alice@nopolicy.example", "checked")+".")
	c.cmd(221, "QUIT")
}

// TestRoutedRecipientsRefused: the percent hack, UUCP bang paths and a
// quoted local part holding an @ would have a downstream that honours them
// relay on our word; they get 550 5.7.1 at RCPT unless
// smtp.allow_routed_addresses is set.
func TestRoutedRecipientsRefused(t *testing.T) {
	routed := []string{`bob%victim.test@example.org`, `victim.test!bob@example.org`, `"bob@victim.test"@example.org`}
	h := newHarness(t, nil)
	c := dialBDAT(t, h.addr)
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	for _, r := range routed {
		if text := c.cmd(550, "RCPT TO:<"+r+">"); !strings.HasPrefix(text, "5.7.1 ") {
			t.Errorf("RCPT %s: %s, want 5.7.1", r, text)
		}
	}
	c.cmd(250, "RCPT TO:<bob@example.org>")
	c.cmd(221, "QUIT")

	open := newHarness(t, func(c *config.Config) { c.SMTP.AllowRoutedAddresses = true })
	c = dialBDAT(t, open.addr)
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	for _, r := range routed {
		c.cmd(250, "RCPT TO:<"+r+">")
	}
	c.cmd(221, "QUIT")
}

// TestLongLines: a message line longer than RFC 5322's 998 octets is taken
// whole, by DATA and BDAT alike, plain or TLS, however the client splits
// its writes (real mail breaks the limit; Postfix takes it too). A command
// line over the limit gets 500 5.5.2 once the whole line is read, and the
// session goes on in step (RFC 5321 §4.5.3.1.4).
func TestLongLines(t *testing.T) {
	h := tlsHarness(t, nil)
	long := strings.Repeat("x", 70000)
	sent := 0
	for _, useTLS := range []bool{false, true} {
		c := dialSession(t, h.addr, useTLS)
		if code, text := c.cmdLine("NOOP " + strings.Repeat("n", 4100)); code != 500 || !strings.HasPrefix(text, "5.5.2 ") {
			t.Errorf("tls=%v: long NOOP got %d %s, want 500 5.5.2", useTLS, code, text)
		}
		c.cmd(250, "NOOP")
		// DATA, the long line in one write with the rest.
		c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
		c.cmd(250, "RCPT TO:<bob@example.org>")
		c.cmd(354, "DATA")
		c.cmd(250, message("alice@nopolicy.example", "long data", "X-Long: "+long)+".")
		// BDAT, command and chunk in one write.
		c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
		c.cmd(250, "RCPT TO:<bob@example.org>")
		c.chunk(message("alice@nopolicy.example", "long bdat")+long+"\r\n", true, 250)
		// BDAT, the chunk in writes of its own.
		c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
		c.cmd(250, "RCPT TO:<bob@example.org>")
		msg := message("alice@nopolicy.example", "long bdat split") + long + "\r\n"
		if _, err := fmt.Fprintf(c.conn, "BDAT %d LAST\r\n", len(msg)); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(msg); i += 10000 {
			if _, err := c.conn.Write([]byte(msg[i:min(i+10000, len(msg))])); err != nil {
				t.Fatal(err)
			}
		}
		c.expect(250)
		c.cmd(221, "QUIT")
		sent += 3
	}
	got, err := h.sink.Wait(sent, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if !strings.Contains(string(m.Data), long) {
			t.Errorf("the long line did not arrive whole in:\n%.300s", m.Data)
		}
	}
}

// cmdLine sends line and returns the reply's code and text.
func (c *bdatClient) cmdLine(line string) (int, string) {
	c.t.Helper()
	if err := c.text.PrintfLine("%s", line); err != nil {
		c.t.Fatal(err)
	}
	return c.reply()
}

// TestReadTimeoutEndsSessionOnce: a client that stalls inside a message
// gets 421 4.4.2 after one read_timeout, and the connection closes: no
// second wait for a drain, no 451 and a third wait for a command. So on a
// plain connection, over TLS, with the message sent before the 354, and in
// a BDAT chunk.
func TestReadTimeoutEndsSessionOnce(t *testing.T) {
	h := tlsHarness(t, func(c *config.Config) { c.SMTP.ReadTimeout = config.Duration{Duration: time.Second} })
	partial := "From: <alice@nopolicy.example>\r\nSubject: stalled\r\n\r\nhalf a"
	cases := []struct {
		name  string
		tls   bool
		stall func(c *bdatClient) error
	}{
		{"plain DATA", false, func(c *bdatClient) error {
			c.cmd(354, "DATA")
			_, err := c.conn.Write([]byte(partial))
			return err
		}},
		{"TLS DATA", true, func(c *bdatClient) error {
			c.cmd(354, "DATA")
			_, err := c.conn.Write([]byte(partial))
			return err
		}},
		{"before the 354", false, func(c *bdatClient) error {
			_, err := c.conn.Write([]byte("DATA\r\n" + partial))
			return err
		}},
		{"BDAT", false, func(c *bdatClient) error {
			_, err := c.conn.Write([]byte("BDAT 5000 LAST\r\n" + partial))
			return err
		}},
		{"TLS BDAT", true, func(c *bdatClient) error {
			_, err := c.conn.Write([]byte("BDAT 5000 LAST\r\n" + partial))
			return err
		}},
	}
	for _, tc := range cases {
		c := dialSession(t, h.addr, tc.tls)
		c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
		c.cmd(250, "RCPT TO:<bob@example.org>")
		start := time.Now()
		if err := tc.stall(c); err != nil {
			t.Fatal(err)
		}
		var said []string
		for {
			code, text := c.reply()
			if code == 0 {
				break
			}
			if code != 354 {
				said = append(said, fmt.Sprintf("%d %s", code, text))
			}
		}
		took := time.Since(start)
		if len(said) != 1 || !strings.HasPrefix(said[0], "421 4.4.2 ") {
			t.Errorf("%s: server said %q, want one 421 4.4.2 and the close", tc.name, said)
		}
		if took > 2500*time.Millisecond {
			t.Errorf("%s: the session ended after %v for read_timeout = 1s", tc.name, took)
		}
	}
}

// TestEvaluationDeadline: an SPF record whose lookups each take 0.9 s
// would hold the session for seconds; dmarc.evaluation_timeout bounds the
// whole evaluation, which ends in temperror, and the reply comes in time.
func TestEvaluationDeadline(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.DMARC.EvaluationTimeout = config.Duration{Duration: time.Second}
		c.DNS.Timeout = config.Duration{Duration: 5 * time.Second}
	})
	var incl []string
	for i := range 8 {
		name := fmt.Sprintf("s%d.slow.example.", i)
		h.dns.SetRecords(name, name+` 300 IN TXT "v=spf1 -all"`)
		incl = append(incl, "include:"+name)
	}
	h.dns.SetRecords("slow.example.", `slow.example. 300 IN TXT "v=spf1 `+strings.Join(incl, " ")+` -all"`)
	h.dns.SetDelay(900 * time.Millisecond)
	c := dialBDAT(t, h.addr)
	start := time.Now()
	c.cmd(250, "MAIL FROM:<alice@slow.example>")
	c.cmd(250, "RCPT TO:<bob@example.org>")
	c.cmd(354, "DATA")
	code, text := c.cmdLine(message("alice@slow.example", "slow spf") + ".")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the evaluation took %v with evaluation_timeout = 1s", took)
	}
	switch code {
	case 250:
		got, err := h.sink.Wait(1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got[0].Data), "spf=temperror") {
			t.Errorf("SPF cut short is not a temperror:\n%.600s", got[0].Data)
		}
	case 451:
		if !strings.HasPrefix(text, "4.7.0 ") {
			t.Errorf("reply %d %s, want 451 4.7.0 for a DMARC temperror", code, text)
		}
	default:
		t.Errorf("reply %d %s, want 250 or 451", code, text)
	}
}

// TestSTARTTLSDiscardsReadAhead: what a client pipelined in plaintext
// after STARTTLS (here more than go-smtp's 4 KiB buffer, following the end
// of a message read beneath go-smtp) is discarded (RFC 3207 §4.2): it is
// neither fed to the TLS handshake nor run as commands.
func TestSTARTTLSDiscardsReadAhead(t *testing.T) {
	h := tlsHarness(t, nil)
	c := dialBDAT(t, h.addr)
	c.cmd(250, "MAIL FROM:<alice@nopolicy.example>")
	c.cmd(250, "RCPT TO:<bob@example.org>")
	c.cmd(354, "DATA")
	injected := "STARTTLS\r\n" + strings.Repeat("NOOP\r\n", 1200)
	if _, err := c.conn.Write([]byte(message("alice@nopolicy.example", "then tls") + ".\r\n" + injected)); err != nil {
		t.Fatal(err)
	}
	c.expect(250)
	c.expect(220)
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake after plaintext read-ahead: %v", err)
	}
	c.conn, c.text = tc, textproto.NewConn(tc)
	c.cmd(250, "EHLO client.test")
	c.cmd(221, "QUIT")
}

// TestOutsideTextNamesNoAddresses: the Authentication-Results reasons of
// a temporary DNS failure say what failed, not where: no resolver
// address, no socket address of ours (issue: internal details outside).
func TestOutsideTextNamesNoAddresses(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.SetRecords("tempspf.example.", `tempspf.example. 300 IN A 192.0.2.9`)
	h.dns.Fail("tempspf.example.", dns.RcodeServerFailure)
	s := h.newRSASigner("nopolicy.example", "gone")
	h.dns.Fail("gone._domainkey.nopolicy.example.", dns.RcodeServerFailure)
	msg := s.sign(t, message("alice@nopolicy.example", "dns trouble"))
	if err := h.send("alice@tempspf.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	got, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ar := string(got[0].Data)
	ar = ar[:strings.Index(ar, "Received:")]
	if !strings.Contains(ar, "spf=temperror") || !strings.Contains(ar, "dkim=temperror") {
		t.Fatalf("want SPF and DKIM temperrors:\n%s", ar)
	}
	_, port, _ := net.SplitHostPort(h.dns.Addr())
	if strings.Contains(ar, ":"+port) || strings.Contains(ar, " on 127.") {
		t.Errorf("Authentication-Results names the resolver %s:\n%s", h.dns.Addr(), ar)
	}
}
