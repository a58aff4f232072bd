package queue

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// result is one recipient's outcome of a delivery attempt.
type result struct {
	rcpt  string
	err   error  // nil: delivered
	perm  bool   // err is permanent: bounce
	reply string // when delivered: the server's reply, for the log
}

// failure classifies err for rcpt: a 5xx reply is permanent, anything else
// (4xx, connection trouble, timeouts) is worth retrying.
func failure(rcpt string, err error) result {
	var se *smtp.SMTPError
	perm := errors.As(err, &se) && se.Code >= 500 && se.Code < 600
	return result{rcpt: rcpt, err: err, perm: perm}
}

func failAll(rcpts []string, err error) []result {
	out := make([]result, 0, len(rcpts))
	for _, r := range rcpts {
		out = append(out, failure(r, err))
	}
	return out
}

// errNoSMTPUTF8 is RFC 6531 §3.4's permanent failure for a message that
// needs SMTPUTF8 when the server lacks it.
var errNoSMTPUTF8 = &smtp.SMTPError{
	Code:         553,
	EnhancedCode: smtp.EnhancedCode{5, 6, 7},
	Message:      "destination does not support SMTPUTF8, required by this message",
}

// transact runs one mail transaction for rcpts over s, keeping the envelope
// as received: MAIL FROM with SIZE, BODY=8BITMIME and SMTPUTF8 (RFC 5321
// §3.3, RFC 6152, RFC 6531), then every RCPT, then DATA. Over LMTP the
// final replies are per recipient (RFC 2033 §4.2). stale means MAIL met a
// closed connection (EOF, reset, or 421): nothing was sent, so on a reused
// connection the transaction is worth one more try on a fresh one.
func transact(s *session, rec *record, rcpts []string, body func() io.Reader, minRate int64) (out []result, stale bool) {
	if rec.UTF8 && !s.has("SMTPUTF8") {
		return failAll(rcpts, errNoSMTPUTF8), false
	}
	s.uses++
	if chunking(s, rec) {
		return chunked(s, rec, rcpts, body, minRate)
	}
	accepted, out, stale := envelope(s, rec, rcpts)
	if len(accepted) == 0 {
		return out, stale
	}
	return append(out, sendData(s, accepted, body, transferTime(s.t, rec.Size, minRate))...), false
}

// chunking reports whether the message goes with BDAT (RFC 3030) rather
// than DATA: to an SMTP server that offers CHUNKING and PIPELINING, for a
// body held in the database (a spooled one is large enough that a round
// trip more does not matter, and counting its size would read it twice).
// LMTP keeps DATA, whose per-recipient replies every LMTP server knows.
func chunking(s *session, rec *record) bool {
	return !s.lmtp && !rec.Spooled && s.has("CHUNKING") && s.has("PIPELINING")
}

// chunked runs the transaction as MAIL, every RCPT and "BDAT n LAST" with
// the whole message, in one write (RFC 3030 §4.2 lets BDAT be pipelined):
// one round trip, and no dot-stuffing for us or un-stuffing for the
// server. A server that refused the envelope still reads and discards the
// chunk (RFC 3030 §2). The message goes in the same canonical form as with
// DATA: a bare LF becomes CRLF and a missing final CRLF is added.
func chunked(s *session, rec *record, rcpts []string, body func() io.Reader, minRate int64) (out []result, stale bool) {
	var size canonicalSize
	if _, err := io.Copy(&size, body()); err != nil {
		return failAll(rcpts, fmt.Errorf("reading message: %w", err)), false
	}
	s.writeLine(mailCommand(s, rec))
	for _, r := range rcpts {
		s.writeLine("RCPT TO:<" + r + ">")
	}
	s.writeLine("BDAT " + strconv.FormatInt(size.total(), 10) + " LAST")
	s.stage("message transfer", transferTime(s.t, size.total(), minRate))
	cw := &crlfWriter{w: s.w}
	if _, err := io.Copy(cw, body()); err != nil {
		s.broken = true // part of the chunk may have gone
		return failAll(rcpts, fmt.Errorf("sending message: %w", s.named(err))), false
	}
	cw.close()
	if err := s.note(s.flush()); err != nil {
		return failAll(rcpts, err), true
	}
	s.expect("MAIL")
	if err := s.note(s.reply(2)); err != nil {
		stale = s.broken
		s.skipReplies(true, len(rcpts)+1)
		return failAll(rcpts, err), stale
	}
	var accepted []string
	for i, r := range rcpts {
		s.expect("RCPT")
		err := s.note(s.reply(2))
		if err == nil {
			accepted = append(accepted, r)
			continue
		}
		if s.broken {
			return append(out, failAll(append(accepted, rcpts[i:]...), err)...), false
		}
		out = append(out, failure(r, err))
	}
	s.expect("BDAT")
	text, err := s.okReply() // BDAT: refused anyway when no recipient was accepted
	err = s.note(err)
	if len(accepted) == 0 {
		return out, false
	}
	if err != nil {
		return append(out, failAll(accepted, err)...), false
	}
	s.dirty = false // the reply to BDAT LAST ended the transaction
	return append(out, deliveredAll(accepted, text)...), false
}

// envelope sends MAIL, every RCPT and DATA, all in one write when the
// server offers PIPELINING (RFC 2920 §3.1), else one at a time, and reads
// their replies. It returns the recipients the server awaits the message
// for (DATA got 354) and the results of the others.
func envelope(s *session, rec *record, rcpts []string) (accepted []string, out []result, stale bool) {
	cmds := make([]string, 0, len(rcpts)+2)
	cmds = append(cmds, mailCommand(s, rec))
	for _, r := range rcpts {
		cmds = append(cmds, "RCPT TO:<"+r+">")
	}
	cmds = append(cmds, "DATA")
	pipelined := s.has("PIPELINING")
	if pipelined {
		s.expect(cmds[0])
		for _, c := range cmds {
			s.writeLine(c)
		}
		if err := s.note(s.flush()); err != nil {
			return nil, failAll(rcpts, err), true
		}
	}
	// step sends command i unless it went with the others, then reads its reply.
	step := func(i, class int) error {
		s.expect(cmds[i])
		if !pipelined {
			s.writeLine(cmds[i])
			if err := s.flush(); err != nil {
				return s.note(err)
			}
		}
		return s.note(s.reply(class))
	}
	if err := step(0, 2); err != nil {
		stale = s.broken
		s.skipReplies(pipelined, len(rcpts)+1)
		return nil, failAll(rcpts, err), stale
	}
	for i, r := range rcpts {
		err := step(1+i, 2)
		if err == nil {
			accepted = append(accepted, r)
			continue
		}
		if s.broken {
			// Nothing more can be done in this session.
			return nil, append(out, failAll(append(accepted, rcpts[i:]...), err)...), false
		}
		out = append(out, failure(r, err))
	}
	if len(accepted) == 0 {
		s.skipReplies(pipelined, 1) // DATA: the server must refuse it
		return nil, out, false
	}
	if err := step(len(cmds)-1, 3); err != nil {
		return nil, append(out, failAll(accepted, err)...), false
	}
	return accepted, out, false
}

// mailCommand is MAIL FROM with the parameters the message needs and the
// server offers.
func mailCommand(s *session, rec *record) string {
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + rec.From + ">")
	if rec.Body8Bit && s.has("8BITMIME") {
		b.WriteString(" BODY=8BITMIME")
	}
	if rec.Size > 0 && s.has("SIZE") {
		b.WriteString(" SIZE=" + strconv.FormatInt(rec.Size, 10))
	}
	if rec.UTF8 {
		b.WriteString(" SMTPUTF8")
	}
	return b.String()
}

// skipReplies reads the replies to pipelined commands sent after one that
// failed. If the last (DATA) was accepted all the same, an empty message
// ends it (RFC 2920 §3.1); the session is reset before its next use.
func (s *session) skipReplies(pipelined bool, n int) {
	if !pipelined || s.broken {
		return
	}
	s.dirty = true
	for i := 0; i < n; i++ {
		s.expect("RCPT")
		code, _, err := readReply(s.r)
		if err != nil {
			s.broken = true
			return
		}
		if i == n-1 && code == 354 {
			s.expect(".")
			s.writeLine(".")
			if s.note(s.flush()) == nil {
				s.note(s.reply(2))
			}
		}
	}
}

// sendData sends the message after a 354 and reads the final replies: one
// for the transaction, or over LMTP one per accepted recipient in order
// (RFC 2033 §4.2).
func sendData(s *session, accepted []string, body func() io.Reader, transfer time.Duration) []result {
	s.stage("message transfer", transfer)
	dw := &dotWriter{w: s.w}
	if _, err := io.Copy(dw, body()); err != nil {
		s.broken = true // the server is still reading the message
		return failAll(accepted, fmt.Errorf("sending message: %w", s.named(err)))
	}
	dw.close()
	if err := s.note(s.flush()); err != nil {
		return failAll(accepted, err)
	}
	s.expect(".") // the final replies (RFC 5321 §4.5.3.2.6)
	// Whatever the final replies say, they end the transaction (RFC 5321
	// §4.1.1.4): no RSET is needed after them.
	defer func() { s.dirty = false }()
	if !s.lmtp {
		text, err := s.okReply()
		if err := s.note(err); err != nil {
			return failAll(accepted, err)
		}
		return deliveredAll(accepted, text)
	}
	out := make([]result, 0, len(accepted))
	for i, r := range accepted {
		text, err := s.okReply()
		err = s.note(err)
		if err != nil && s.broken && smtpError(err) == nil {
			// No more replies will come: the rest are unknown.
			return append(out, failAll(accepted[i:], err)...)
		}
		if err != nil {
			out = append(out, failure(r, err))
			continue
		}
		out = append(out, result{rcpt: r, reply: text})
	}
	return out
}

func deliveredAll(rcpts []string, reply string) []result {
	out := make([]result, 0, len(rcpts))
	for _, r := range rcpts {
		out = append(out, result{rcpt: r, reply: reply})
	}
	return out
}
