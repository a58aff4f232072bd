package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dmarcgate/config"
	"dmarcgate/queue"
	"dmarcgate/smtpd"
)

// readyFunc learns the bound addresses (tests listen on "127.0.0.1:0").
type readyFunc func(smtp []net.Addr, metrics net.Addr)

// shutdownGrace bounds how long open sessions may take to finish.
const shutdownGrace = 30 * time.Second

func cmdServe(ctx context.Context, args []string) error {
	fs, path := newFlags("serve")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	withCommitProc()
	defer startGCFloor()()
	logs := newLogWriter(os.Stderr)
	defer logs.Close()
	return serveFrom(ctx, *path, cfg, newLogger(cfg, logs), nil)
}

// serve runs the gateway with a configuration that is not reloaded (SIGHUP
// re-reads the STARTTLS certificate only).
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready readyFunc) error {
	return serveFrom(ctx, "", cfg, log, ready)
}

// serveFrom runs the gateway until ctx ends, then shuts down gracefully:
// stop accepting, let sessions finish, stop the workers, close the
// database. On SIGHUP it loads path again (reload.go).
func serveFrom(ctx context.Context, path string, cfg *config.Config, log *slog.Logger, ready readyFunc) error {
	a, err := openApp(cfg, log, 2*time.Second)
	if err != nil {
		return err
	}
	defer a.Close()
	srv, err := a.smtpServer()
	if err != nil {
		return err
	}
	onHangup(ctx, (&reloader{path: path, log: log, a: a, srv: srv, boot: cfg, cur: cfg}).reload)
	cons, err := startConsole(a, srv)
	if err != nil {
		return err
	}
	defer cons.Close() // after the sessions and workers end, before the database closes
	listeners, err := listenAll(cfg.SMTP.Listen)
	if err != nil {
		return err
	}
	metricsLn, err := startMetrics(cfg.Metrics.Listen, a, srv, log)
	if err != nil {
		closeAll(listeners)
		return err
	}
	ctl, err := startControl(cfg.StateDir, a, log)
	if err != nil {
		closeAll(listeners)
		return err
	}
	a.queue.Start(ctx)
	var bg sync.WaitGroup // report schedulers, quarantine expiry, inbound reports; they end with ctx
	bg.Add(5)
	go func() { defer bg.Done(); runCluster(ctx, a) }()
	go func() { defer bg.Done(); expireHeld(ctx, a) }()
	go func() { defer bg.Done(); a.reports.Run(ctx) }()
	go func() { defer bg.Done(); a.failures.Run(ctx) }()
	go func() { defer bg.Done(); a.runInbound(ctx) }()
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Add(1)
		go func(l net.Listener) {
			defer wg.Done()
			if err := srv.Serve(l); err != nil {
				log.Error("smtp listener stopped", "addr", l.Addr().String(), "err", err)
			}
		}(l)
		log.Info("listening", "addr", l.Addr().String())
	}
	logStart(log, cfg, addrsOf(listeners), addrOf(metricsLn))
	if ready != nil {
		ready(addrsOf(listeners), addrOf(metricsLn))
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("smtp shutdown", "err", err)
	}
	wg.Wait()
	if srv.Verifier != nil {
		srv.Verifier.Close()
	}
	ctl.Close()
	if metricsLn != nil {
		metricsLn.Close()
	}
	if err := a.queue.Stop(sctx); err != nil {
		log.Warn("queue shutdown", "err", err)
	}
	bg.Wait()
	log.Info("stopped")
	return nil
}

func (a *app) smtpServer() (*smtpd.Server, error) {
	cfg := a.cfg
	var tlsConf *tls.Config
	if cfg.SMTP.TLSCert != "" {
		cert, err := loadCertificate(cfg.SMTP.TLSCert, cfg.SMTP.TLSKey, a.log)
		if err != nil {
			return nil, err
		}
		a.tlsCert, tlsConf = cert, cert.tlsConfig()
	}
	srv := &smtpd.Server{
		Config:    smtpConfig(cfg, tlsConf),
		Evaluator: a.eval,
		Queue:     a.queue,
		DB:        a.db,
		Recorder:  recorders{a.reports, a.failures, intakeRecorder{a.intake}},
		Holder:    a.intake,
		Logger:    a.log,
	}
	sealer, err := newSealer(cfg)
	if err != nil {
		return nil, err
	}
	srv.Sealer = sealer
	if cfg.Relay.VerifyRecipients {
		srv.Verifier = queue.NewVerifier(queue.VerifierConfig{
			RelayAddr: cfg.Relay.Address, Protocol: cfg.Relay.Protocol, Hostname: cfg.Hostname,
		})
	}
	return srv, nil
}

func listenAll(addrs []string) ([]net.Listener, error) {
	var ls []net.Listener
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("smtp.listen: %w", err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

func addrsOf(ls []net.Listener) []net.Addr {
	out := make([]net.Addr, len(ls))
	for i, l := range ls {
		out[i] = l.Addr()
	}
	return out
}

func addrOf(l net.Listener) net.Addr {
	if l == nil {
		return nil
	}
	return l.Addr()
}

// startMetrics serves /metrics, /healthz (alive) and /readyz (able to
// take mail); an empty address disables it.
func startMetrics(addr string, a *app, srv *smtpd.Server, log *slog.Logger) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	prepareMetrics(a, srv)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/readyz", &readiness{relay: a.cfg.Relay.Address, db: a.db})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return l, nil
}
