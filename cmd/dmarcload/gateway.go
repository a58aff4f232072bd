package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// tlsCert and tlsKey, when set, make the gateway offer STARTTLS.
	tlsCert, tlsKey string
	reports         bool   // aggregate reports on
	postgres        string // cluster.postgres, when set
	consoleHash     string // console.password_hash: the console on, when set
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
tls_cert = %q
tls_key = %q

[dns]
servers = [%q]

[relay]
address = %q

[outbound]
smarthost = %q

[reporting]
enabled = %t
org_name = "Bench"
email = "dmarc-reports@mx.bench.example"

[failure_reports]
enabled = false

[metrics]
listen = ""
`, filepath.Join(g.dir, "state"), acceptDomain, g.maxConns, g.maxConns, g.tlsCert, g.tlsKey, g.dns, g.relay, g.outbound, g.reports) + g.clusterText() + g.consoleText()
}

// clusterText is the [cluster] section, when the run has one.
func (g gatewaySetup) clusterText() string {
	if g.postgres == "" {
		return ""
	}
	return fmt.Sprintf("\n[cluster]\npostgres = %q\ninstance = \"bench\"\n", g.postgres)
}

// gateway is a running dmarcgate subprocess.
type gateway struct {
	cmd     *exec.Cmd
	addr    string     // its SMTP listener
	log     gatewayLog // its stdout and stderr
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
	// The child gets its own descriptor of the file; ours closes at once.
	defer logFile.Close()
	g := &gateway{log: gatewayLog{path: logFile.Name()}, exited: make(chan struct{})}
	g.cmd = exec.Command(bin, "serve", "--config", configPath)
	g.cmd.Stdout, g.cmd.Stderr = logFile, logFile
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.exited)
	}()
	waitCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if g.addr = g.log.listening(waitCtx, g.exited); g.addr != "" {
		return g, nil
	}
	select {
	case <-g.exited:
		return nil, fmt.Errorf("gateway exited before listening (%v); its log ends:\n%s", g.waitErr, g.log.tail())
	default:
	}
	err = ctx.Err()
	if err == nil {
		err = fmt.Errorf("gateway did not announce a listener within %v; its log ends:\n%s", startTimeout, g.log.tail())
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

// gatewayLog is the gateway's stdout and stderr: a file the gateway writes
// itself, so that no pipe needs draining by the load generator while it
// measures. It is read back for the listening line and for a failure's tail.
type gatewayLog struct {
	path string
}

// logPoll is how often the log is read while waiting for the listener.
const logPoll = 5 * time.Millisecond

// listening returns the address of the first listening line, polling the
// log until then. It gives up with "" when exited closes or ctx ends.
func (l gatewayLog) listening(ctx context.Context, exited <-chan struct{}) string {
	tick := time.NewTicker(logPoll)
	defer tick.Stop()
	for {
		// Read before looking at exited: a gateway that listened and then
		// stopped still announced its address.
		data, _ := os.ReadFile(l.path)
		for line := range strings.Lines(string(data)) {
			if addr, ok := listeningAddr(strings.TrimSuffix(line, "\n")); ok {
				return addr
			}
		}
		select {
		case <-tick.C:
		case <-exited:
			return ""
		case <-ctx.Done():
			return ""
		}
	}
}

// tailBytes is how much of the log's end tail reads.
const tailBytes = 64 << 10

// tail is the last logTailLines lines of the log, indented for an error
// message.
func (l gatewayLog) tail() string {
	f, err := os.Open(l.path)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	defer f.Close()
	var off int64
	if fi, err := f.Stat(); err == nil && fi.Size() > tailBytes {
		off = fi.Size() - tailBytes
	}
	buf := make([]byte, tailBytes)
	n, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(buf[:n]), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // it started mid-line
	}
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "  (nothing)"
	}
	return "  " + strings.Join(lines, "\n  ")
}
