package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
	"dmarcgate/smtpsink"
)

// headerNames lists the field names of a CRLF header block.
func headerNames(block string) []string {
	var names []string
	for _, line := range strings.Split(block, "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if i := strings.IndexByte(line, ':'); i > 0 {
			names = append(names, line[:i])
		}
	}
	return names
}

// splitDelivered checks that got is our added fields followed by exactly the
// original message, and returns the added block.
func splitDelivered(t *testing.T, got []byte, original string) string {
	t.Helper()
	s := string(got)
	if !strings.HasSuffix(s, original) {
		t.Fatalf("delivered message does not end with the original bytes:\n%s", s)
	}
	return s[:len(s)-len(original)]
}

func TestRelayDeliversByteIdentical(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct {
		from string
		to   []string
		msg  string
	}{
		{"alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "one")},
		{"carol@nopolicy.example", []string{"bob@example.org", "dave@example.net"}, message("carol@nopolicy.example", "two") + "..leading dot line\r\n.\r\n"},
		{"", []string{"postmaster@example.org"}, message("mailer-daemon@nopolicy.example", "null sender")},
	}
	for _, c := range cases {
		if err := h.send(c.from, c.to, c.msg); err != nil {
			t.Fatalf("send from %q: %v", c.from, err)
		}
	}
	got, err := h.sink.Wait(len(cases), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var m *smtpsink.Received
		for i := range got {
			if strings.Contains(string(got[i].Data), c.msg) {
				m = &got[i]
			}
		}
		if m == nil {
			t.Fatalf("message from %q not delivered", c.from)
		}
		if m.From != c.from || strings.Join(m.To, ",") != strings.Join(c.to, ",") {
			t.Errorf("envelope = %q -> %v, want %q -> %v", m.From, m.To, c.from, c.to)
		}
		added := splitDelivered(t, m.Data, c.msg)
		names := headerNames(added)
		if strings.Join(names, ",") != "Authentication-Results,Received" {
			t.Errorf("added fields = %v, want Authentication-Results then Received:\n%s", names, added)
		}
		if !strings.Contains(added, "Authentication-Results: mx.test.example;") || !strings.Contains(added, "by mx.test.example") {
			t.Errorf("added block lacks our authserv-id or hostname:\n%s", added)
		}
	}
}

// The SIZE= a client announces decides where the gateway keeps the body
// while it is queued (memory or a spool file), never what is relayed or
// how its signatures verify, even when the announcement is wrong.
func TestSizeAnnouncedAtMailKeepsTheMessage(t *testing.T) {
	h := newHarness(t, nil)
	signer := h.newRSASigner("good.example", "s1")
	small := message("a@nopolicy.example", "small") + "hello\r\n"
	large := message("a@nopolicy.example", "large") + strings.Repeat(strings.Repeat("z", 78)+"\r\n", 20000)
	signed := signer.sign(t, message("alice@good.example", "signed")+"hello\r\n")
	signedLarge := signer.sign(t, message("alice@good.example", "signed large")+strings.Repeat(strings.Repeat("s", 78)+"\r\n", 20000))
	cases := []struct {
		name string
		size int64
		msg  string
	}{
		{"exact", int64(len(small)), small},
		{"announced large, sent small", 3 << 20, small},
		{"announced small, sent large", 1000, large},
		{"announced large, sent large", int64(len(large)), large},
		{"signed, announced large, sent small", 3 << 20, signed},
		{"signed, announced small, sent large", 1000, signedLarge},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := sendWith(h.addr, "client.test", "a@nopolicy.example", []string{"bob@example.org"}, c.msg, &smtp.MailOptions{Size: c.size}); err != nil {
				t.Fatal(err)
			}
			got, err := h.sink.Wait(i+1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			added := splitDelivered(t, got[i].Data, c.msg)
			if strings.Contains(c.msg, "DKIM-Signature:") {
				mustContain(t, authResults(t, added), "dkim=pass header.d=good.example")
			}
		})
	}
}

// An address with a control character or bytes that are not UTF-8 fits
// no SMTP grammar and would end up in our Received field and the log: it
// is refused at MAIL or RCPT, and the session goes on.
func TestAddressWithBadBytesRefused(t *testing.T) {
	h := newHarness(t, nil)
	c := dialBanner(t, h.addr, "220 ")
	defer c.Close()
	r := textproto.NewReader(bufio.NewReader(c))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	say := func(line, want string) {
		t.Helper()
		if _, err := io.WriteString(c, line+"\r\n"); err != nil {
			t.Fatal(err)
		}
		code, msg, err := r.ReadResponse(0)
		if got := fmt.Sprintf("%d %s", code, msg); err != nil && code == 0 || !strings.HasPrefix(got, want) {
			t.Errorf("%q: %s (%v), want %s", line, got, err, want)
		}
	}
	say("EHLO client.test", "250 ")
	say("MAIL FROM:<a\x10b@nopolicy.example>", "553 5.1.3")
	say("MAIL FROM:<\xe9t\xe9@nopolicy.example>", "553 5.1.3")
	say("MAIL FROM:<a@nopolicy.example>", "250 ")
	say("RCPT TO:<\x7fbob@example.org>", "553 5.1.3")
	say("RCPT TO:<b\xffob@example.org>", "553 5.1.3")
	say("RCPT TO:<bob@example.org>", "250 ")
}

func TestRelayDeniedForForeignDomain(t *testing.T) {
	h := newHarness(t, nil)
	err := h.send("alice@nopolicy.example", []string{"victim@elsewhere.example"}, message("alice@nopolicy.example", "relay"))
	if got := smtpCode(err); got != "550 5.7.1" {
		t.Fatalf("RCPT to a foreign domain: %s, want 550 5.7.1", got)
	}
	if h.sink.Count() != 0 {
		t.Fatal("relayed a message for a foreign domain")
	}
}

func TestDownstreamDownThenUp(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.sink.Close(); err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := 0; i < n; i++ {
		if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "while down")); err != nil {
			t.Fatalf("send while downstream is down: %v", err)
		}
	}
	waitFor(t, 5*time.Second, "a failed delivery attempt", func() bool {
		msgs, _ := queueList(t, h)
		return strings.Contains(msgs, "3 message(s)") && strings.Contains(msgs, "connect")
	})
	if err := h.sink.Restart(); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, h, "queue", "flush"); err != nil {
		t.Fatalf("queue flush: %v %s", err, out)
	}
	if _, err := h.sink.Wait(n, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestPermanentFailureSendsOneDSN(t *testing.T) {
	h := newHarness(t, nil)
	h.sink.SetReply(func(from string, to []string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no mailbox here"}
	})
	if err := h.send("alice@good.example", []string{"gone@example.org"}, message("alice@nopolicy.example", "bounce me")); err != nil {
		t.Fatal(err)
	}
	if err := h.send("", []string{"gone@example.org"}, message("alice@nopolicy.example", "null sender")); err != nil {
		t.Fatal(err)
	}
	dsns, err := h.out.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := dsns[0]
	if d.From != "" || len(d.To) != 1 || d.To[0] != "alice@good.example" {
		t.Errorf("DSN envelope = %q -> %v", d.From, d.To)
	}
	body := string(d.Data)
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "message/delivery-status",
		"Final-Recipient: rfc822; gone@example.org", "Action: failed", "Status: 5.1.1", "no mailbox here"} {
		if !strings.Contains(body, want) {
			t.Errorf("DSN lacks %q", want)
		}
	}
	// The null sender's bounce produces nothing; let the queue settle first.
	waitFor(t, 10*time.Second, "an empty queue", func() bool {
		msgs, _ := queueList(t, h)
		return strings.Contains(msgs, "0 message(s)")
	})
	if n := h.out.Count(); n != 1 {
		t.Errorf("%d DSNs, want exactly 1 (none for the null sender)", n)
	}
}

func TestRecipientVerification(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Relay.VerifyRecipients = true })
	h.sink.SetReply(func(from string, to []string) *smtp.SMTPError {
		if strings.HasPrefix(to[len(to)-1], "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "unknown user"}
		}
		return nil
	})
	err := h.send("alice@nopolicy.example", []string{"nobody@example.org"}, message("alice@nopolicy.example", "x"))
	if got := smtpCode(err); got != "550 5.1.1" {
		t.Errorf("unknown user: %s, want 550 5.1.1", got)
	}
	if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "x")); err != nil {
		t.Errorf("known user: %v", err)
	}
	h.sink.Close()
	err = h.send("alice@nopolicy.example", []string{"carol@example.org"}, message("alice@nopolicy.example", "x"))
	if got := smtpCode(err); !strings.HasPrefix(got, "451") {
		t.Errorf("downstream down: %s, want 451 (never a false 550)", got)
	}
}

func TestLimits(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.MaxMessageSize = 4096
		c.SMTP.MaxRecipients = 2
		c.SMTP.MaxConnectionsPerIP = 2
		c.SMTP.ReadTimeout = config.Duration{Duration: 500 * time.Millisecond}
	})
	t.Run("size declared at MAIL", func(t *testing.T) {
		c, err := smtp.Dial(h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Mail("a@nopolicy.example", &smtp.MailOptions{Size: 10000})
		if got := smtpCode(err); got != "552 5.3.4" {
			t.Errorf("MAIL SIZE=10000: %s, want 552 5.3.4", got)
		}
	})
	t.Run("size while reading", func(t *testing.T) {
		big := message("a@nopolicy.example", "big") + strings.Repeat("x", 78) + "\r\n"
		big += strings.Repeat(strings.Repeat("y", 78)+"\r\n", 100)
		err := h.send("a@nopolicy.example", []string{"bob@example.org"}, big)
		if got := smtpCode(err); got != "552 5.3.4" {
			t.Errorf("oversized DATA: %s, want 552 5.3.4", got)
		}
	})
	t.Run("exactly the size limit", func(t *testing.T) {
		// RFC 1870: the size advertised is the largest taken.
		exact := message("a@nopolicy.example", "exact")
		for len(exact) < 4096-80 {
			exact += strings.Repeat("z", 78) + "\r\n"
		}
		exact += strings.Repeat("z", 4096-len(exact)-2) + "\r\n"
		if err := h.send("a@nopolicy.example", []string{"bob@example.org"}, exact); err != nil {
			t.Errorf("DATA of exactly max_message_size: %v, want 250", err)
		}
		msgs, err := h.sink.Wait(1, 10*time.Second)
		if err != nil || !strings.HasSuffix(string(msgs[len(msgs)-1].Data), exact) {
			t.Fatalf("not relayed intact: %v", err)
		}
		err = h.send("a@nopolicy.example", []string{"bob@example.org"}, exact[:len(exact)-2]+"z\r\n")
		if got := smtpCode(err); got != "552 5.3.4" {
			t.Errorf("DATA of one byte more: %s, want 552 5.3.4", got)
		}
	})
	t.Run("too many recipients", func(t *testing.T) {
		err := h.send("a@nopolicy.example", []string{"a@example.org", "b@example.org", "c@example.org"}, message("a@nopolicy.example", "x"))
		if got := smtpCode(err); got != "452 4.5.3" {
			t.Errorf("third RCPT: %s, want 452 4.5.3", got)
		}
	})
	t.Run("connections per IP", func(t *testing.T) {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := 0; i < 2; i++ {
			conns = append(conns, dialWhenFree(t, h.addr))
		}
		c := dialBanner(t, h.addr, "421 4.7.0")
		c.Close()
	})
	// read_timeout bounds a silence, not a transfer: a message trickling in
	// for longer than read_timeout, each pause shorter, is accepted.
	t.Run("slow transfer outlives read_timeout", func(t *testing.T) {
		c := dialWhenFree(t, h.addr)
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		r := textproto.NewReader(bufio.NewReader(c))
		step := func(cmd, want string) {
			t.Helper()
			if cmd != "" {
				fmt.Fprintf(c, "%s\r\n", cmd)
			}
			if line, err := r.ReadLine(); err != nil || !strings.HasPrefix(line, want) {
				t.Fatalf("%q: %q, %v; want %s", cmd, line, err, want)
			}
		}
		step("HELO slow.example", "250")
		step("MAIL FROM:<a@nopolicy.example>", "250")
		step("RCPT TO:<bob@example.org>", "250")
		step("DATA", "354")
		// 24 pieces 50 ms apart: each pause far below read_timeout.
		msg := message("a@nopolicy.example", "slow")
		const pieces = 24
		start := time.Now()
		for i := range pieces {
			io.WriteString(c, msg[i*len(msg)/pieces:(i+1)*len(msg)/pieces])
			time.Sleep(50 * time.Millisecond)
		}
		step(".", "250")
		if took := time.Since(start); took < 1200*time.Millisecond {
			t.Fatalf("the transfer took only %v", took)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		c := dialWhenFree(t, h.addr)
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatalf("reading after idling: %v", err)
		}
		if !strings.HasPrefix(line, "421") {
			t.Errorf("after idling: %q, want 421 and a closed connection", line)
		}
	})
}

// dialBanner connects and checks the first reply line's prefix.
func dialBanner(t *testing.T, addr, want string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := textproto.NewReader(bufio.NewReader(c)).ReadLine()
	if err != nil {
		t.Fatalf("banner: %v", err)
	}
	if !strings.HasPrefix(line, want) {
		t.Fatalf("banner %q, want prefix %q", line, want)
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// dialWhenFree dials until the server greets with 220 (earlier subtests'
// connections may still hold their slots for a moment).
func dialWhenFree(t *testing.T, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := textproto.NewReader(bufio.NewReader(c)).ReadLine()
		if err == nil && strings.HasPrefix(line, "220") {
			c.SetReadDeadline(time.Time{})
			return c
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no free connection slot: %q %v", line, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOneLogLinePerMessage: a message gives one line when it is accepted
// (client, envelope, size, verdict, queue id) and one per delivery attempt,
// which names the same id.
func TestOneLogLinePerMessage(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "logged")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var accepted, delivered []string
	waitFor(t, 5*time.Second, "the delivery line", func() bool {
		accepted, delivered = nil, nil
		for _, line := range strings.Split(h.logs.String(), "\n") {
			switch {
			case strings.Contains(line, `msg="message accepted"`):
				accepted = append(accepted, line)
			case strings.Contains(line, "msg=delivery "):
				delivered = append(delivered, line)
			}
		}
		return len(delivered) > 0
	})
	if len(accepted) != 1 || len(delivered) != 1 {
		t.Fatalf("%d accepted and %d delivery lines, want 1 and 1:\n%s", len(accepted), len(delivered), h.logs.String())
	}
	for _, field := range []string{"client=127.0.0.1", "helo=client.test", "from=alice@nopolicy.example", "rcpts=1",
		"size=", "spf=pass", "dmarc=", "action=deliver", "id="} {
		if strings.Count(accepted[0], " "+field) != 1 {
			t.Errorf("accepted line lacks (or repeats) %s: %s", field, accepted[0])
		}
	}
	_, rest, _ := strings.Cut(accepted[0], " id=")
	id, _, _ := strings.Cut(rest, " ")
	if id == "" || !strings.Contains(delivered[0], "id="+id+" ") || !strings.Contains(delivered[0], "outcome=delivered") {
		t.Errorf("delivery line does not name id %q or the outcome: %s", id, delivered[0])
	}
}

// An SPF error's reason goes in the message's log line, and only then.
func TestLogLineNamesSPFError(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.Add(`sloppy.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all;"`)
	for _, from := range []string{"alice@sloppy.example", "alice@nopolicy.example"} {
		if err := h.send(from, []string{"bob@example.org"}, message(from, "logged")); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, `msg="message accepted"`) {
			lines = append(lines, line)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d accepted lines, want 2:\n%s", len(lines), h.logs.String())
	}
	if want := `spf=permerror spf_reason="SPF record of sloppy.example: bad term \"-all;\""`; !strings.Contains(lines[0], want) {
		t.Errorf("line lacks %s: %s", want, lines[0])
	}
	if !strings.Contains(lines[1], " spf=pass ") || strings.Contains(lines[1], "spf_reason") {
		t.Errorf("a pass has no reason: %s", lines[1])
	}
}
