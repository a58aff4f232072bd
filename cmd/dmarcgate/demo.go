package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// The demo runs the real gateway (serve) in-process on 127.0.0.1, with an
// in-process DNS server as the world and an SMTP sink as the mail store,
// sends a few messages through it and prints what became of each. Its
// state lives in a temporary directory removed at the end.

const demoConfig = `
hostname = %q
state_dir = %q
[smtp]
listen = ["127.0.0.1:0"]
accept_domains = ["example.org"]
[dns]
servers = [%q]
timeout = "1s"
[relay]
address = %q
[outbound]
smarthost = %q
[reporting]
org_name = "Example Org"
email = "dmarc-reports@example.org"
smarthost = %q
[failure_reports]
enabled = false
[metrics]
listen = ""
`

// demoEnv is the running demo: DNS, the store, the gateway.
type demoEnv struct {
	dir     string
	dns     *resolvertest.Server
	store   *smtpsink.Sink
	cfgPath string
	cfg     *config.Config
	addr    string // the gateway's SMTP listener
	key     *demoKey
	stop    context.CancelFunc
	done    chan error
}

func cmdDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs, _ := newFlags("demo")
	verbose := fs.Bool("v", false, "also print the gateway's log (to stderr)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"usage: dmarcgate demo [-v]"}
	}
	logOut := io.Discard
	if *verbose {
		logOut = os.Stderr
	}
	return runDemo(ctx, stdout, logOut)
}

// runDemo runs the whole demo; logOut receives the gateway's log.
func runDemo(ctx context.Context, w io.Writer, logOut io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "dmarcgate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := &demoEnv{dir: dir}
	if err := env.start(ctx, logOut); err != nil {
		env.close()
		return err
	}
	defer func() {
		if cerr := env.close(); err == nil {
			err = cerr
		}
	}()
	env.printWorld(w)
	for i, m := range demoMessages {
		if err := env.run(w, i+1, m); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nThe aggregate reports this gateway would send for the open period (dmarcgate reports preview):\n\n")
	return runOp(ctx, env.cfgPath, "reports-preview", "", w)
}

// start brings up DNS, the store and the gateway, in that order.
func (e *demoEnv) start(ctx context.Context, logOut io.Writer) error {
	var err error
	if e.key, err = newDemoKey(); err != nil {
		return err
	}
	if e.dns, err = resolvertest.Listen(demoZone(e.key)); err != nil {
		return err
	}
	if e.store, err = smtpsink.Listen("127.0.0.1:0", smtpsink.Options{Hostname: "store.demo.example"}); err != nil {
		return err
	}
	doc := fmt.Sprintf(demoConfig, demoHostname, filepath.Join(e.dir, "state"), e.dns.Addr(),
		e.store.Addr(), e.store.Addr(), e.store.Addr())
	e.cfgPath = filepath.Join(e.dir, "dmarcgate.toml")
	if err := os.WriteFile(e.cfgPath, []byte(doc), 0o600); err != nil {
		return err
	}
	if e.cfg, err = loadConfig(e.cfgPath); err != nil {
		return err
	}
	return e.serve(ctx, logOut)
}

// serve runs the gateway as `dmarcgate serve` does, until close.
func (e *demoEnv) serve(ctx context.Context, logOut io.Writer) error {
	sctx, cancel := context.WithCancel(ctx)
	e.stop, e.done = cancel, make(chan error, 1)
	ready := make(chan string, 1)
	log := newLogger(e.cfg, logOut)
	go func() {
		e.done <- serve(sctx, e.cfg, log, func(addrs []net.Addr, _ net.Addr) { ready <- addrs[0].String() })
	}()
	select {
	case e.addr = <-ready:
		return nil
	case err := <-e.done:
		e.done <- err // for close
		return fmt.Errorf("demo: the gateway did not start: %w", err)
	case <-time.After(15 * time.Second):
		return errors.New("demo: the gateway did not start listening within 15s")
	}
}

// close stops the gateway (gracefully), the store and DNS.
func (e *demoEnv) close() error {
	var err error
	if e.stop != nil {
		e.stop()
		err = <-e.done
	}
	if e.store != nil {
		e.store.Close()
	}
	if e.dns != nil {
		e.dns.Close()
	}
	return err
}

func (e *demoEnv) printWorld(w io.Writer) {
	fmt.Fprintf(w, "dmarcgate demo: the gateway listens on %s; its DNS (in-process) on %s; the mail store (a sink) on %s\n\n",
		e.addr, e.dns.Addr(), e.store.Addr())
	fmt.Fprintln(w, "Sender domains in the demo's DNS, all sending from 127.0.0.1:")
	for _, p := range demoPolicies {
		fmt.Fprintf(w, "  _dmarc.%-19s TXT %q\n", p.domain, p.record)
	}
	fmt.Fprintf(w, "  each of them also publishes SPF \"v=spf1 ip4:127.0.0.1 -all\" and a DKIM key at %s._domainkey (Ed25519, made just now)\n", demoSelector)
	fmt.Fprintln(w, "  attacker.example and lists.example publish SPF allowing 127.0.0.1, no DMARC record, no key")
}

// run sends one scenario and prints its outcome.
func (e *demoEnv) run(w io.Writer, n int, m demoMessage) error {
	msg, msgID, err := m.build(e.key, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d. %s\n", n, m.title)
	signed := "unsigned"
	if m.signer != "" {
		signed = "DKIM-signed by " + m.signer
		if m.tamper {
			signed += ", body changed after signing"
		}
	}
	fmt.Fprintf(w, "   From: %s   MAIL FROM: %s   (%s)\n", m.from, m.mailFrom, signed)
	before := e.store.Count()
	reply, err := demoSend(e.addr, m.mailFrom, msg)
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		fmt.Fprintf(w, "   => rejected: %d %d.%d.%d %s\n", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
		fmt.Fprintln(w, "      (refused at the end of DATA: the message never reaches the store; the sender's server bounces it)")
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: sending message %d: %w", n, err)
	}
	got, err := e.delivered(before, msgID)
	if err != nil {
		return err
	}
	e.printDelivered(w, reply, got)
	return nil
}

// delivered waits for the message to reach the store.
func (e *demoEnv) delivered(before int, msgID string) ([]byte, error) {
	deadline := time.Now().Add(15 * time.Second)
	for count := before + 1; ; count++ {
		msgs, err := e.store.Wait(count, time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("demo: message %s did not reach the store: %w", msgID, err)
		}
		for _, r := range msgs[before:] {
			if strings.Contains(demoHeader(r.Data), msgID) {
				return r.Data, nil
			}
		}
	}
}

func (e *demoEnv) printDelivered(w io.Writer, reply string, data []byte) {
	head := demoHeader(data)
	qh := e.cfg.DMARC.QuarantineHeader
	if strings.Contains(head, qh+"\r\n") {
		fmt.Fprintf(w, "   => quarantined: %s; delivered to the store marked %q (its spam folder's rule)\n", reply, qh)
	} else {
		fmt.Fprintf(w, "   => accepted: %s; delivered to the store\n", reply)
	}
	for _, line := range demoAuthResults(head) {
		fmt.Fprintf(w, "   %s\n", line)
	}
}

// demoSend delivers msg to bob@example.org and returns the final reply.
func demoSend(addr, mailFrom, msg string) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Hello("client.demo.example"); err != nil {
		return "", err
	}
	if err := c.Mail(mailFrom, nil); err != nil {
		return "", err
	}
	if err := c.Rcpt(demoRecipient, nil); err != nil {
		return "", err
	}
	wc, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := io.WriteString(wc, msg); err != nil {
		return "", err
	}
	resp, err := wc.CloseWithResponse()
	if err != nil {
		return "", err
	}
	_ = c.Quit()
	return "250 " + resp.StatusText, nil
}

// demoHeader is the header block of a message, ending in CRLF.
func demoHeader(data []byte) string {
	s := string(data)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return s[:i+2]
	}
	return s
}

// demoAuthResults returns the Authentication-Results fields of a header block,
// each with its continuation lines (RFC 5322 §2.2.3 folding kept).
func demoAuthResults(head string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(strings.TrimSuffix(head, "\r\n"), "\r\n") {
		folded := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case in && folded:
			out = append(out, line)
		case len(line) > 23 && strings.EqualFold(line[:23], "Authentication-Results:"):
			in = true
			out = append(out, line)
		default:
			in = false
		}
	}
	return out
}
