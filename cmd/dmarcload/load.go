package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// clientTLS is what the load's clients accept: the sink's and the
// gateway's certificates are self-signed.
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}

// Timeouts of every network operation of the load.
const (
	dialTimeout     = 5 * time.Second
	commandTimeout  = 30 * time.Second
	dataTimeout     = 60 * time.Second // end of DATA: the gateway fsyncs and evaluates
	reconnectPause  = 20 * time.Millisecond
	clientHelloName = "load.bench.example"
)

// outcome is what happened to one transaction. code is the SMTP reply
// that ended it (250 at the end of DATA, or the refusal at any step), or 0
// when the connection failed.
type outcome struct {
	code    int
	status  string        // "550 5.7.26" for a refusal
	latency time.Duration // MAIL to the final reply
	start   time.Time     // MAIL sent
	end     time.Time     // final reply read
	spoofed bool
	err     error // transport failure, when code is 0
}

// runLoad sends w's transactions to addr over conns connections, each in
// a closed loop, and returns one outcome per transaction. Transactions
// not started when ctx ends are left with a zero outcome and an error.
func runLoad(ctx context.Context, addr string, w *workload, conns int) []outcome {
	outcomes := make([]outcome, w.n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &loadConn{addr: addr, pipelining: w.pipelining, perConn: w.perConn, tls: w.tls}
			defer c.close()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= w.n {
					return
				}
				outcomes[i] = c.send(w.message(i))
			}
		}()
	}
	wg.Wait()
	for i := range outcomes {
		if outcomes[i].code == 0 && outcomes[i].err == nil {
			outcomes[i].err = errors.New("not sent: interrupted")
		}
	}
	return outcomes
}

// loadConn is one client connection, opened on first use and again after
// a transport failure, or after perConn transactions (then with QUIT).
type loadConn struct {
	addr       string
	pipelining bool
	perConn    int  // 0: no limit
	sent       int  // transactions on this connection
	tls        bool // STARTTLS after EHLO
	conn       net.Conn
	client     *smtp.Client     // one command at a time
	piped      *pipelinedClient // or with -pipelining
}

func (c *loadConn) connected() bool { return c.client != nil || c.piped != nil }

func (c *loadConn) connect() error {
	if c.pipelining {
		p, err := dialPipelined(c.addr, c.tls)
		if err != nil {
			return err
		}
		c.piped, c.sent = p, 0
		return nil
	}
	conn, err := net.DialTimeout("tcp", c.addr, dialTimeout)
	if err != nil {
		return err
	}
	var client *smtp.Client
	if c.tls {
		// go-smtp says EHLO as "localhost" before STARTTLS; Hello would
		// come too late.
		if client, err = smtp.NewClientStartTLS(conn, clientTLS()); err != nil {
			conn.Close()
			return err
		}
		client.CommandTimeout, client.SubmissionTimeout = commandTimeout, dataTimeout
	} else {
		client = smtp.NewClient(conn)
		client.CommandTimeout, client.SubmissionTimeout = commandTimeout, dataTimeout
		if err := client.Hello(clientHelloName); err != nil {
			client.Close()
			return err
		}
	}
	c.conn, c.client = conn, client
	c.sent = 0
	return nil
}

// quit ends the session politely (QUIT, then close), as an MTA does
// after its last message for this destination.
func (c *loadConn) quit() {
	if c.client != nil {
		_ = c.client.Quit()
		c.conn, c.client = nil, nil
	}
	c.close() // a pipelined client sends QUIT in close
}

func (c *loadConn) close() {
	if c.client != nil {
		c.client.Close()
		c.conn, c.client = nil, nil
	}
	if c.piped != nil {
		c.piped.close()
		c.piped = nil
	}
}

// send runs one MAIL/RCPT/DATA transaction. A refusal leaves the
// connection usable after RSET; a transport failure closes it.
func (c *loadConn) send(m message) outcome {
	out := outcome{spoofed: m.spoofed}
	if !c.connected() {
		if err := c.connect(); err != nil {
			time.Sleep(reconnectPause) // a refused connection fails at once
			return c.failed(out, err)
		}
	}
	out.start = time.Now()
	err := c.transact(m)
	out.end = time.Now()
	out.latency = out.end.Sub(out.start)
	if c.sent++; c.perConn > 0 && c.sent >= c.perConn {
		defer c.quit()
	}
	if err == nil {
		out.code = 250
		return out
	}
	var reply *smtp.SMTPError
	if !errors.As(err, &reply) {
		return c.failed(out, err)
	}
	out.code = reply.Code
	out.status = strconv.Itoa(reply.Code)
	if e := reply.EnhancedCode; e[0] > 0 {
		out.status += fmt.Sprintf(" %d.%d.%d", e[0], e[1], e[2])
	}
	if c.reset() != nil {
		c.close()
	}
	return out
}

func (c *loadConn) reset() error {
	if c.piped != nil {
		return c.piped.reset()
	}
	return c.client.Reset()
}

func (c *loadConn) transact(m message) error {
	if c.piped != nil {
		return c.piped.transact(m.from, recipient, m.data)
	}
	// The size is announced, as MTAs do when the server offers SIZE.
	if err := c.client.Mail(m.from, &smtp.MailOptions{Size: int64(len(m.data))}); err != nil {
		return err
	}
	if err := c.client.Rcpt(recipient, nil); err != nil {
		return err
	}
	data, err := c.client.Data()
	if err != nil {
		return err
	}
	// The client sets deadlines on commands and replies only; writing the
	// body needs its own.
	if err := c.conn.SetWriteDeadline(time.Now().Add(dataTimeout)); err != nil {
		return err
	}
	if _, err := data.Write(m.data); err != nil {
		return err
	}
	return data.Close()
}

func (c *loadConn) failed(out outcome, err error) outcome {
	c.close()
	out.code, out.err = 0, err
	return out
}
