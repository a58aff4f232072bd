package smtpsink

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

const testBody = "Subject: hi\r\n\r\nhello\r\n"

func dial(t *testing.T, s *Sink) *smtp.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var c *smtp.Client
	if s.opts.LMTP {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = 5 * time.Second
	c.SubmissionTimeout = 5 * time.Second
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

func send(c *smtp.Client, from string, opts *smtp.MailOptions, to []string, body string) error {
	if err := c.Mail(from, opts); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

func TestRecordsEnvelopeAndData(t *testing.T) {
	s := Start(t, Options{})
	c := dial(t, s)
	opts := &smtp.MailOptions{UTF8: true, Size: int64(len(testBody))}
	if err := send(c, "a@x.test", opts, []string{"b@y.test", "c@y.test"}, testBody); err != nil {
		t.Fatal(err)
	}
	got, err := s.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := got[0]
	if m.From != "a@x.test" || strings.Join(m.To, ",") != "b@y.test,c@y.test" {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if string(m.Data) != testBody {
		t.Errorf("data %q", m.Data)
	}
	if !m.UTF8 || !m.Body8Bit || m.Size != int64(len(testBody)) {
		t.Errorf("params UTF8=%v 8bit=%v size=%d", m.UTF8, m.Body8Bit, m.Size)
	}
	if s.Connections() != 1 {
		t.Errorf("Connections() = %d", s.Connections())
	}
}

func TestRepliesRefuse(t *testing.T) {
	s := Start(t, Options{})
	s.SetReply(func(from string, to []string) *smtp.SMTPError {
		if to[0] == "nobody@y.test" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	c := dial(t, s)
	err := send(c, "a@x.test", nil, []string{"nobody@y.test"}, testBody)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("RCPT: got %v, want 550", err)
	}
	c.Reset()
	s.SetDataReply(func(string, []string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	})
	err = send(c, "a@x.test", nil, []string{"b@y.test"}, testBody)
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("DATA: got %v, want 451", err)
	}
	if s.Count() != 0 {
		t.Fatalf("refused messages were recorded: %d", s.Count())
	}
}

func TestLMTPPerRecipientReplies(t *testing.T) {
	s := Start(t, Options{LMTP: true})
	s.SetDataReply(func(_ string, to []string) *smtp.SMTPError {
		if to[0] == "full@y.test" {
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	})
	c := dial(t, s)
	err := send(c, "a@x.test", nil, []string{"ok@y.test", "full@y.test"}, testBody)
	var lerr smtp.LMTPDataError
	if !errors.As(err, &lerr) || len(lerr) != 1 || lerr["full@y.test"] == nil || lerr["full@y.test"].Code != 452 {
		t.Fatalf("got %v, want one 452 for full@y.test", err)
	}
	got, err := s.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got[0].To, ",") != "ok@y.test" {
		t.Fatalf("recorded for %v, want only ok@y.test", got[0].To)
	}
}

func TestRestartOnSamePort(t *testing.T) {
	s := Start(t, Options{})
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("sink still accepts connections after Close")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Fatalf("address changed: %s -> %s", addr, s.Addr())
	}
	if err := send(dial(t, s), "a@x.test", nil, []string{"b@y.test"}, testBody); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 1 {
		t.Fatalf("Count() = %d", s.Count())
	}
}

func TestDiscardCountsOnly(t *testing.T) {
	s := Start(t, Options{Discard: true})
	c := dial(t, s)
	for i := 0; i < 3; i++ {
		if err := send(c, "a@x.test", nil, []string{"b@y.test"}, testBody); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Wait(3, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages()) != 0 {
		t.Fatalf("Discard kept %d messages", len(s.Messages()))
	}
}

func TestStartTLS(t *testing.T) {
	cfg, err := SelfSignedTLS("sink.test")
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t, Options{TLS: cfg})
	c, err := smtp.DialStartTLS(s.Addr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "a@x.test", nil, []string{"b@y.test"}, testBody); err != nil {
		t.Fatal(err)
	}
	got, err := s.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].TLS {
		t.Fatal("message not marked as received over TLS")
	}
}

func TestWaitTimesOut(t *testing.T) {
	s := Start(t, Options{})
	start := time.Now()
	if _, err := s.Wait(1, 50*time.Millisecond); err == nil {
		t.Fatal("Wait succeeded with no message")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Wait overran its timeout")
	}
}
