package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dmarcgate/config"
)

// One-shot commands (queue, quarantine, reports) run while serve holds the
// database lock, so serve answers them on a Unix socket in state_dir; without
// a running serve, the command opens the state itself.

const controlSocket = "control.sock"

// controlDir holds the socket: a directory of mode 0700, so that no other
// user can reach the socket at any moment (a socket created and then
// chmod-ed is open to all in between).
const controlDir = "control"

// controlPath is where serve listens and the commands dial.
func controlPath(stateDir string) string {
	return filepath.Join(stateDir, controlDir, controlSocket)
}

// op is one one-shot operation: it writes its output to w.
type op func(ctx context.Context, a *app, w io.Writer, arg string) error

var ops = map[string]op{
	"queue-list":   opQueueList,
	"queue-flush":  opQueueFlush,
	"queue-show":   opQueueShow,
	"queue-delete": opDelete,
}

type controlServer struct {
	l  net.Listener
	hs *http.Server
}

func startControl(stateDir string, a *app, log *slog.Logger) (*controlServer, error) {
	return startControlAllow(stateDir, a, log, serviceUID)
}

// startControlAllow is startControl answering only peers whose uid allow
// accepts.
func startControlAllow(stateDir string, a *app, log *slog.Logger, allow func(uint32) bool) (*controlServer, error) {
	l, err := listenControl(stateDir)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/op", func(w http.ResponseWriter, r *http.Request) {
		name, arg := r.FormValue("op"), r.FormValue("arg")
		fn, ok := ops[name]
		if !ok {
			http.Error(w, "unknown operation "+name, http.StatusNotFound)
			return
		}
		out := &opOutput{w: w}
		if err := fn(r.Context(), a, out, arg); err != nil {
			log.Warn("control operation failed", "op", name, "err", err)
			out.fail(err)
			return
		}
		out.finish()
	})
	mux.HandleFunc("/backup", func(w http.ResponseWriter, r *http.Request) { serveBackup(w, r, a, stateDir, log) })
	hs := &http.Server{Handler: onlyPeers(mux, allow, log), ReadHeaderTimeout: 5 * time.Second, ConnContext: withPeer}
	go func() { _ = hs.Serve(l) }()
	return &controlServer{l: l, hs: hs}, nil
}

func (c *controlServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.hs.Shutdown(ctx)
}

// errNoServer: nobody answers on the control socket.
var errNoServer = errors.New("no running server")

// callServer runs the operation in a running serve, if there is one.
func callServer(ctx context.Context, stateDir, name, arg string, w io.Writer) error {
	resp, err := askServer(ctx, stateDir, "/op", url.Values{"op": {name}, "arg": {arg}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// askServer posts form to a running serve's control socket and returns
// its 200 answer; errNoServer when nobody answers there.
func askServer(ctx context.Context, stateDir, path string, form url.Values) (*http.Response, error) {
	sock := controlPath(stateDir)
	if _, err := os.Stat(sock); err != nil {
		return nil, errNoServer
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	// Under ctx, so that Ctrl-C ends a long operation (queue flush waits
	// for its deliveries); serve then stops it too (the request's context).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://dmarcgate"+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errNoServer
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, errors.New(strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// runOp runs an operation through a running serve or, failing that, locally.
func runOp(ctx context.Context, configPath, name, arg string, w io.Writer) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return err
	}
	if err := callServer(ctx, cfg.StateDir, name, arg, w); !errors.Is(err, errNoServer) {
		return err
	}
	if err := checkFiles(cfg); err != nil {
		return err // the configuration first: it is what to fix first
	}
	if err := stateExists(cfg); err != nil {
		return err
	}
	a, err := openApp(cfg, newLogger(cfg, os.Stderr), 3*time.Second)
	var bad *config.Error
	if errors.As(err, &bad) {
		return err // the configuration, not a serve holding the state
	}
	if err != nil {
		return fmt.Errorf("%w (is a dmarcgate serve using %s without answering on its control socket?)", err, cfg.StateDir)
	}
	defer a.Close()
	return ops[name](ctx, a, w, arg)
}
