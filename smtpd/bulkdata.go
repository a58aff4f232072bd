package smtpd

import (
	"errors"
	"io"

	"github.com/emersion/go-smtp"
)

// On a plain connection the message text of DATA is read here, beneath
// go-smtp, a buffer at a time: go-smtp's own reader takes it a byte at a
// time through two more layers, which cost about a tenth of the gateway's
// CPU per message. go-smtp still sees the end of data: the read that would
// have brought it the message brings it the end-of-data line instead,
// followed by whatever the client sent after it.
//
// This is only done when nothing of the message can be in go-smtp's buffer
// yet, which the first, one-byte read from go-smtp's reader tells: if the
// client sent nothing after the DATA line before our 354 (RFC 5321 §3.3,
// RFC 2920 §3.1), go-smtp's buffer is empty and that read comes down to the
// connection, armed for the message. Otherwise go-smtp's reader has the
// message's first bytes and reads it all, as it does after STARTTLS, where
// the connection underneath carries ciphertext. Both ways give the same
// bytes and the same end (unstuffer), and go-smtp's limit on the message
// size holds either way (but for a message of exactly the size limit: see
// write). Neither limits the length of a message line: a line over RFC
// 5322's 998 octets is taken, as Postfix takes it (our patched go-smtp
// bounds command lines only).

// readMessage copies the message of DATA or BDAT from go-smtp's reader r
// into w, through buf.
func readMessage(c *smtp.Conn, r io.Reader, w io.Writer, buf []byte) (int64, error) {
	lc, plain := c.Conn().(*limitedConn)
	if _, bdat := r.(*io.PipeReader); plain && !bdat {
		srv := c.Server()
		max := srv.MaxMessageBytes
		if srv.Limits != nil { // the limit in force now (reload.go)
			_, max = srv.Limits()
		}
		n, _, err := lc.copyDATA(r, w, max, buf)
		return n, err
	}
	return io.CopyBuffer(w, r, buf)
}

// bulkData is one message read beneath go-smtp.
type bulkData struct {
	w       io.Writer
	buf     []byte
	max     int64 // go-smtp's MaxMessageBytes; 0 for none
	unstuff unstuffer

	used bool  // the message came through us
	n    int64 // message bytes
	err  error // the first failure to keep the message
}

// copyDATA copies the message of a DATA command from r, go-smtp's reader,
// into w; beneath says whether it was read beneath go-smtp.
func (c *limitedConn) copyDATA(r io.Reader, w io.Writer, max int64, buf []byte) (n int64, beneath bool, err error) {
	if !c.lineEnd {
		n, err = io.CopyBuffer(w, r, buf)
		return n, false, err
	}
	d := &bulkData{w: w, buf: buf, max: max}
	d.unstuff.emit = d.write
	c.bulk = d
	var first [1]byte
	k, err := r.Read(first[:])
	c.bulk = nil
	if d.used {
		if err == io.EOF {
			err = d.err
		}
		return d.n, true, err
	}
	// The client sent message text before our 354: go-smtp has it.
	if k > 0 {
		if _, werr := w.Write(first[:k]); werr != nil {
			return 0, false, werr
		}
	}
	if err == io.EOF {
		return int64(k), false, nil
	} else if err != nil {
		return int64(k), false, err
	}
	n, err = io.CopyBuffer(w, r, buf)
	return int64(k) + n, false, err
}

// write takes a run of the message. A message over MaxMessageBytes is
// refused, and the rest of it read and dropped. One of exactly that size
// is taken, as the SIZE we advertise promises (RFC 1870) and as BDAT and
// `dmarcgate check` take it: go-smtp's own reader refuses it, which stays
// so after STARTTLS.
func (d *bulkData) write(b []byte) {
	d.n += int64(len(b))
	if d.err != nil {
		return
	}
	if d.max > 0 && d.n > d.max {
		d.err = smtp.ErrDataTooLarge
		return
	}
	if _, err := d.w.Write(b); err != nil {
		d.err = err
	}
}

// endOfData is what go-smtp's reader gets for the message read beneath it.
var endOfData = []byte(".\r\n")

// readBulk reads the message into d and returns, in b, the end-of-data
// line and what followed it; what does not fit in b waits in c.pending.
// A failure to keep the message (d.err) is the session's to report: go-smtp
// only needs to find the end.
func (c *limitedConn) readBulk(d *bulkData, b []byte) (int, error) {
	d.used = true
	for {
		k, err := c.readConn(d.buf)
		p := d.buf[:k]
		used, done := d.unstuff.feed(p)
		if done {
			c.pending = append(append(c.pending[:0], endOfData...), p[used:]...)
			return c.readPending(b), nil
		}
		if err != nil {
			return 0, err
		}
		if k == 0 {
			return 0, errors.New("smtpd: connection read returned nothing")
		}
	}
}

// readPending hands go-smtp what readBulk read past the message.
func (c *limitedConn) readPending(b []byte) int {
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	if n > 0 {
		c.lineEnd = b[n-1] == '\n'
	}
	return n
}

// DiscardReadAhead drops what was read past a message and not yet handed
// to go-smtp: our patched go-smtp calls it at STARTTLS, where plaintext
// read ahead must not reach the handshake (RFC 3207 §4.2).
func (c *limitedConn) DiscardReadAhead() {
	c.pending = nil
}
