package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// pipelinedClient speaks SMTP the way MTAs do to a server that offers
// PIPELINING (RFC 2920): MAIL, RCPT and DATA leave in one write, their
// replies are read together, then the message follows.
type pipelinedClient struct {
	conn net.Conn
	text *textproto.Conn
}

// dialPipelined connects, says EHLO and, with startTLS, STARTTLS and EHLO
// again.
func dialPipelined(addr string, startTLS bool) (*pipelinedClient, error) {
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	c := &pipelinedClient{conn: conn, text: textproto.NewConn(conn)}
	c.deadline(commandTimeout)
	if _, err := c.reply(220); err != nil {
		conn.Close()
		return nil, err
	}
	ext, err := c.ehlo()
	if err == nil && startTLS {
		ext, err = c.startTLS()
	}
	if err != nil {
		c.conn.Close()
		return nil, err
	}
	if !strings.Contains("\n"+strings.ToUpper(ext)+"\n", "\nPIPELINING\n") {
		c.conn.Close()
		return nil, fmt.Errorf("%s does not offer PIPELINING", addr)
	}
	return c, nil
}

func (c *pipelinedClient) ehlo() (string, error) {
	if err := c.text.PrintfLine("EHLO %s", clientHelloName); err != nil {
		return "", err
	}
	return c.reply(250)
}

// startTLS upgrades the connection (RFC 3207) and returns the new EHLO reply.
func (c *pipelinedClient) startTLS() (string, error) {
	if err := c.text.PrintfLine("STARTTLS"); err != nil {
		return "", err
	}
	if _, err := c.reply(220); err != nil {
		return "", err
	}
	tc := tls.Client(c.conn, clientTLS())
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	c.conn, c.text = tc, textproto.NewConn(tc)
	return c.ehlo()
}

func (c *pipelinedClient) deadline(d time.Duration) {
	c.conn.SetDeadline(time.Now().Add(d))
}

// transact sends one message, its size announced at MAIL as MTAs do (RFC
// 1870); a refusal is an *smtp.SMTPError, the first of the pipelined
// replies that refused.
func (c *pipelinedClient) transact(from, to string, data []byte) error {
	c.deadline(commandTimeout)
	w := c.text.W
	fmt.Fprintf(w, "MAIL FROM:<%s> SIZE=%d\r\nRCPT TO:<%s>\r\nDATA\r\n", from, len(data), to)
	if err := w.Flush(); err != nil {
		return err
	}
	var first error
	for _, want := range []int{250, 250, 354} {
		if _, err := c.reply(want); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	c.deadline(dataTimeout)
	dw := c.text.DotWriter()
	if _, err := dw.Write(data); err != nil {
		return err
	}
	if err := dw.Close(); err != nil {
		return err
	}
	_, err := c.reply(250)
	return err
}

// reply reads one reply; another code than want is an *smtp.SMTPError.
func (c *pipelinedClient) reply(want int) (string, error) {
	_, msg, err := c.text.ReadResponse(want)
	if tperr, ok := err.(*textproto.Error); ok {
		return "", smtpError(tperr.Code, tperr.Msg)
	}
	return msg, err
}

// smtpError splits the enhanced status code (RFC 3463) off a reply text.
func smtpError(code int, msg string) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: code, Message: msg}
	first, rest, _ := strings.Cut(msg, " ")
	parts := strings.Split(first, ".")
	if len(parts) != 3 {
		return se
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return se
		}
		se.EnhancedCode[i] = n
	}
	se.Message = rest
	return se
}

// reset ends a refused transaction (RSET).
func (c *pipelinedClient) reset() error {
	c.deadline(commandTimeout)
	if err := c.text.PrintfLine("RSET"); err != nil {
		return err
	}
	_, err := c.reply(250)
	return err
}

func (c *pipelinedClient) close() {
	c.deadline(commandTimeout)
	if c.text.PrintfLine("QUIT") == nil {
		c.reply(221)
	}
	c.conn.Close()
}
