package smtpsink

import (
	"crypto/tls"
	"io"

	"github.com/emersion/go-smtp"
)

// session is one SMTP/LMTP connection's transaction state.
type session struct {
	sink *Sink
	conn *smtp.Conn
	msg  Received
}

func (ss *session) Reset() { ss.msg = Received{} }

func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.msg = Received{From: from}
	if opts != nil {
		ss.msg.UTF8 = opts.UTF8
		ss.msg.Body8Bit = opts.Body == smtp.Body8BitMIME
		ss.msg.Size = opts.Size
	}
	if tc, ok := ss.conn.Conn().(*tls.Conn); ok {
		ss.msg.TLS, ss.msg.TLSResumed = true, tc.ConnectionState().DidResume
	}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if reply, _ := ss.sink.replies(); reply != nil {
		if err := reply(ss.msg.From, []string{to}); err != nil {
			return err
		}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

// Data answers one reply for the whole message (SMTP).
func (ss *session) Data(r io.Reader) error {
	data, err := ss.read(r)
	if err != nil {
		return err
	}
	if _, reply := ss.sink.replies(); reply != nil {
		if err := reply(ss.msg.From, ss.msg.To); err != nil {
			return err
		}
	}
	ss.accept(data, ss.msg.To)
	return nil
}

// LMTPData answers one reply per recipient (RFC 2033 §4.2) and records the
// message for the recipients that were accepted.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	data, err := ss.read(r)
	if err != nil {
		return err
	}
	_, reply := ss.sink.replies()
	var accepted []string
	for _, rcpt := range ss.msg.To {
		var rerr *smtp.SMTPError
		if reply != nil {
			rerr = reply(ss.msg.From, []string{rcpt})
		}
		if rerr != nil {
			status.SetStatus(rcpt, rerr)
			continue
		}
		status.SetStatus(rcpt, nil)
		accepted = append(accepted, rcpt)
	}
	if len(accepted) > 0 {
		ss.accept(data, accepted)
	}
	return nil
}

func (ss *session) read(r io.Reader) ([]byte, error) {
	if ss.sink.opts.Discard {
		_, err := io.Copy(io.Discard, r)
		return nil, err
	}
	return io.ReadAll(r)
}

func (ss *session) accept(data []byte, to []string) {
	m := ss.msg
	m.Data = data
	m.To = append([]string(nil), to...)
	ss.sink.record(m)
}
