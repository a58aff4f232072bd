package queue

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-smtp"
)

// result is one recipient's outcome of a delivery attempt.
type result struct {
	rcpt string
	err  error // nil: delivered
	perm bool  // err is permanent: bounce
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
// final replies are per recipient (RFC 2033 §4.2).
func transact(s *session, lmtp bool, rec *record, rcpts []string, body func() io.Reader) []result {
	if ok, _ := s.Extension("SMTPUTF8"); rec.UTF8 && !ok {
		return failAll(rcpts, errNoSMTPUTF8)
	}
	opts := &smtp.MailOptions{Size: rec.Size, UTF8: rec.UTF8}
	if rec.Body8Bit {
		opts.Body = smtp.Body8BitMIME
	}
	if err := s.Mail(rec.From, opts); err != nil {
		return failAll(rcpts, err)
	}
	var out []result
	var accepted []string
	for i, r := range rcpts {
		err := s.Rcpt(r, nil)
		if err == nil {
			accepted = append(accepted, r)
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			// The connection broke: nothing more can be done in this session.
			return append(out, failAll(append(accepted, rcpts[i:]...), err)...)
		}
		out = append(out, failure(r, err))
	}
	if len(accepted) == 0 {
		s.Reset()
		return out
	}
	return append(out, sendData(s, lmtp, accepted, body)...)
}

func sendData(s *session, lmtp bool, accepted []string, body func() io.Reader) []result {
	w, err := s.Data()
	if err != nil {
		return failAll(accepted, err)
	}
	if _, err := io.Copy(w, body()); err != nil {
		return failAll(accepted, fmt.Errorf("sending message: %w", err))
	}
	if !lmtp {
		if err := w.Close(); err != nil {
			return failAll(accepted, err)
		}
		out := make([]result, 0, len(accepted))
		for _, r := range accepted {
			out = append(out, result{rcpt: r})
		}
		return out
	}
	delivered, err := w.CloseWithLMTPResponse()
	var perRcpt smtp.LMTPDataError
	errors.As(err, &perRcpt)
	out := make([]result, 0, len(accepted))
	for _, r := range accepted {
		switch {
		case delivered[r] != nil:
			out = append(out, result{rcpt: r})
		case perRcpt[r] != nil:
			out = append(out, failure(r, perRcpt[r]))
		case err != nil:
			out = append(out, failure(r, err))
		default:
			out = append(out, failure(r, errors.New("no LMTP reply for this recipient")))
		}
	}
	return out
}
