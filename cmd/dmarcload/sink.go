package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/smtpsink"
)

// sink is the downstream both runs deliver to: the direct run's target,
// and the gateway's relay.
type sink interface {
	Addr() string
	// Counts gives the messages received since the last Reset, and how
	// many of them came from the spoofer domain (DMARC should stop those).
	Counts() (received, spoofed int, err error)
	Reset() error
	Close() error
}

// startSink starts the sink in a process of its own, as every mail store
// runs, unless inProcess. In dmarcload's own process the direct run's
// clients and the sink share one Go scheduler: a reply wakes a client
// without the process switch that the gateway run pays at each hop and
// that any sender pays to reach its downstream.
func startSink(inProcess, tls bool) (sink, error) {
	if inProcess {
		return startLocalSink(tls)
	}
	return startProcessSink(tls)
}

// localSink is a sink in this process.
type localSink struct {
	s       *smtpsink.Sink
	spoofed atomic.Int64
}

func startLocalSink(tls bool) (*localSink, error) {
	opts := smtpsink.Options{Discard: true, Hostname: "sink.bench.example"}
	if tls {
		var err error
		if opts.TLS, err = smtpsink.SelfSignedTLS(opts.Hostname); err != nil {
			return nil, err
		}
	}
	s, err := smtpsink.Listen("127.0.0.1:0", opts)
	if err != nil {
		return nil, err
	}
	return wrapSink(s), nil
}

// wrapSink makes s a sink that counts the spoofer's messages.
func wrapSink(s *smtpsink.Sink) *localSink {
	l := &localSink{s: s}
	s.SetDataReply(func(from string, _ []string) *smtp.SMTPError {
		if strings.HasSuffix(from, "@"+spooferDomain) {
			l.spoofed.Add(1)
		}
		return nil
	})
	return l
}

func (l *localSink) Addr() string { return l.s.Addr() }

func (l *localSink) Counts() (int, int, error) {
	return l.s.Count(), int(l.spoofed.Load()), nil
}

func (l *localSink) Reset() error {
	l.s.Reset()
	l.spoofed.Store(0)
	return nil
}

func (l *localSink) Close() error { return l.s.Close() }

// sinkProcessEnv, set in a child's environment, makes dmarcload (or its
// test binary) serve a sink instead: "plain" or "tls".
const sinkProcessEnv = "DMARCLOAD_SINK_PROCESS"

// serveSinkProcess is the child's side: it prints "addr ADDR", then
// answers one line per command read ("counts": "RECEIVED SPOOFED";
// "reset": "ok") until its input ends, when the parent is done.
func serveSinkProcess(mode string, stdin io.Reader, stdout, stderr io.Writer) int {
	l, err := startLocalSink(mode == "tls")
	if err != nil {
		fmt.Fprintln(stderr, "dmarcload sink:", err)
		return exitFailure
	}
	defer l.Close()
	fmt.Fprintln(stdout, "addr", l.Addr())
	in := bufio.NewScanner(stdin)
	for in.Scan() {
		switch in.Text() {
		case "counts":
			n, s, _ := l.Counts()
			fmt.Fprintln(stdout, n, s)
		case "reset":
			l.Reset()
			fmt.Fprintln(stdout, "ok")
		default:
			fmt.Fprintln(stdout, "error: unknown command")
		}
	}
	return exitOK
}

// processSink is a sink in a child process, driven over its stdin and
// stdout.
type processSink struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	addr string

	mu   sync.Mutex // one command at a time
	done chan error // the child's exit
}

// sinkStartTimeout bounds how long the child may take to listen.
const sinkStartTimeout = 10 * time.Second

func startProcessSink(tls bool) (*processSink, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	mode := "plain"
	if tls {
		mode = "tls"
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), sinkProcessEnv+"="+mode)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the sink process: %w", err)
	}
	p := &processSink{cmd: cmd, in: in, out: bufio.NewReader(out), done: make(chan error, 1)}
	first := make(chan string, 1)
	go func() {
		line, _ := p.out.ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
		if !ok {
			p.kill()
			return nil, fmt.Errorf("the sink process did not start (said %q)", line)
		}
		p.addr = addr
	case <-time.After(sinkStartTimeout):
		p.kill()
		return nil, fmt.Errorf("the sink process did not listen within %v", sinkStartTimeout)
	}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

func (p *processSink) Addr() string { return p.addr }

// ask sends one command and returns the reply line.
func (p *processSink) ask(command string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := fmt.Fprintln(p.in, command); err != nil {
		return "", fmt.Errorf("sink process: %w", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("sink process: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func (p *processSink) Counts() (int, int, error) {
	line, err := p.ask("counts")
	if err != nil {
		return 0, 0, err
	}
	var n, s int
	if _, err := fmt.Sscan(line, &n, &s); err != nil {
		return 0, 0, fmt.Errorf("sink process: counts %q: %w", line, err)
	}
	return n, s, nil
}

func (p *processSink) Reset() error {
	line, err := p.ask("reset")
	if err == nil && line != "ok" {
		err = fmt.Errorf("sink process: reset: %q", line)
	}
	return err
}

// Close ends the child by closing its input, and waits for it.
func (p *processSink) Close() error {
	p.in.Close()
	select {
	case err := <-p.done:
		return err
	case <-time.After(sinkStartTimeout):
		p.cmd.Process.Kill()
		return errors.New("the sink process did not exit; killed")
	}
}

// kill ends a child that never got going (it is ours: we started it).
func (p *processSink) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}
