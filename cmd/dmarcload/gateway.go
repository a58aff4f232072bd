package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	startTimeout = 20 * time.Second // for the listening line
	stopTimeout  = 30 * time.Second // after SIGTERM, then SIGKILL
	killTimeout  = 5 * time.Second
	logTailLines = 15
)

// gatewaySetup is what the gateway's configuration points at.
type gatewaySetup struct {
	dir      string // state_dir and config live here
	relay    string // the sink
	outbound string // DSNs would go here
	dns      string
	maxConns int // per client IP: the load all comes from 127.0.0.1
}

// configText is the gateway's configuration for a load run: everything on
// 127.0.0.1, reports off, metrics off.
func (g gatewaySetup) configText() string {
	return fmt.Sprintf(`hostname = "mx.bench.example"
state_dir = %q

[log]
level = "info"

[smtp]
listen = ["127.0.0.1:0"]
accept_domains = [%q]
max_connections = %d
max_connections_per_ip = %d
session_timeout = "1h" # each load connection lives for the whole run

[dns]
servers = [%q]

[relay]
address = %q

[outbound]
smarthost = %q

[reporting]
enabled = false

[failure_reports]
enabled = false

[metrics]
listen = ""
`, filepath.Join(g.dir, "state"), acceptDomain, g.maxConns, g.maxConns, g.dns, g.relay, g.outbound)
}

// gateway is a running dmarcgate subprocess.
type gateway struct {
	cmd     *exec.Cmd
	addr    string       // its SMTP listener
	log     *lineWatcher // its stderr, also kept in a file
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// startGateway runs bin serve with setup's configuration and waits for its
// first SMTP listener to be announced on stderr.
func startGateway(ctx context.Context, bin string, setup gatewaySetup) (*gateway, error) {
	configPath := filepath.Join(setup.dir, "dmarcgate.toml")
	if err := os.WriteFile(configPath, []byte(setup.configText()), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(setup.dir, "dmarcgate.log"))
	if err != nil {
		return nil, err
	}
	g := &gateway{log: newLineWatcher(logFile), exited: make(chan struct{})}
	g.cmd = exec.Command(bin, "serve", "--config", configPath)
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		logFile.Close()
		close(g.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case g.addr = <-g.log.listening:
		return g, nil
	case <-g.exited:
		return nil, fmt.Errorf("gateway exited before listening (%v); its log ends:\n%s", g.waitErr, g.log.tail())
	case <-timer.C:
		err = fmt.Errorf("gateway did not announce a listener within %v; its log ends:\n%s", startTimeout, g.log.tail())
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.stop()
	return nil, err
}

// peakRSS is the gateway's peak resident set size so far, in bytes.
func (g *gateway) peakRSS() (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(status)
}

// stop asks the gateway to shut down gracefully (SIGTERM), kills it after
// stopTimeout, and returns its exit error and CPU time.
func (g *gateway) stop() (time.Duration, error) {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-g.exited:
	case <-timer.C:
		_ = g.cmd.Process.Kill()
		select {
		case <-g.exited:
		case <-time.After(killTimeout):
			return 0, errors.New("gateway did not die after SIGKILL")
		}
		return 0, fmt.Errorf("gateway ignored SIGTERM for %v and was killed", stopTimeout)
	}
	ps := g.cmd.ProcessState
	return ps.UserTime() + ps.SystemTime(), g.waitErr
}

// lineWatcher copies the gateway's output to a file, keeps its last
// lines, and announces the first listening address.
type lineWatcher struct {
	file      *os.File
	listening chan string // gets the first listener's address

	mu      sync.Mutex
	partial []byte
	lines   []string // the last logTailLines lines
	found   bool
}

func newLineWatcher(file *os.File) *lineWatcher {
	return &lineWatcher{file: file, listening: make(chan string, 1)}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.file.Write(p) // losing the log copy must not stop the gateway
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 64<<10 { // an endless line: keep memory bounded
		w.line(string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

// line handles one complete line; w.mu is held.
func (w *lineWatcher) line(s string) {
	w.lines = append(w.lines, s)
	if len(w.lines) > logTailLines {
		w.lines = w.lines[1:]
	}
	if w.found {
		return
	}
	if addr, ok := listeningAddr(s); ok {
		w.found = true
		w.listening <- addr
	}
}

// tail is the last lines of output, indented for an error message.
func (w *lineWatcher) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) == 0 {
		return "  (nothing)"
	}
	return "  " + strings.Join(w.lines, "\n  ")
}
