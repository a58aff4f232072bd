package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"dmarcgate/config"
	"dmarcgate/console"
	"dmarcgate/console/verdicts"
	"dmarcgate/inbound"
	"dmarcgate/reporting"
	"dmarcgate/smtpd"
)

// runningConsole is the web console and its ring of recent verdicts.
type runningConsole struct {
	ring *verdicts.Ring
	hs   *http.Server
	done chan struct{}
}

// startConsole starts the ring of recent verdicts (fed by srv) and the
// console on console.listen; with the console off it does nothing.
func startConsole(a *app, srv *smtpd.Server) (*runningConsole, error) {
	cfg := a.cfg
	if !cfg.Console.Enabled() {
		return &runningConsole{}, nil
	}
	ring := verdicts.New(a.db, verdicts.DefaultSize, a.log)
	c, err := console.New(console.Config{
		PasswordHash: []byte(cfg.Console.PasswordHash), Secure: cfg.ConsoleTLS(), Hostname: cfg.Hostname,
		Version: buildVersion(), Started: time.Now(), Logger: a.log, CertExpiry: a.certExpiry,
	}, console.Sources{Verdicts: ring, Queue: a.queue, Reports: consoleReports{a.reports, a.failures}, Domains: consoleDomains{a}})
	if err != nil {
		return nil, err
	}
	l, scheme, err := consoleListener(a)
	if err != nil {
		return nil, err
	}
	ring.Start()
	srv.Verdicts = ring
	rc := &runningConsole{ring: ring, hs: c.HTTPServer(), done: make(chan struct{})}
	go func() {
		defer close(rc.done)
		if err := rc.hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("console stopped", "err", err)
		}
	}()
	a.log.Info("console listening", "url", scheme+"://"+l.Addr().String()+"/")
	return rc, nil
}

// consoleListener listens on console.listen: HTTPS with the STARTTLS
// certificate (so a SIGHUP's reload reaches it too) off loopback, plain
// HTTP on loopback or with console.insecure, which it warns about.
func consoleListener(a *app) (net.Listener, string, error) {
	cfg := a.cfg
	if cfg.ConsoleTLS() && a.tlsCert == nil {
		// config validation refuses this; a configuration built in code may not have been validated.
		return nil, "", &config.Error{Key: "console.listen", Msg: fmt.Sprintf("%q is not a loopback address: the console needs TLS "+
			"(smtp.tls_cert and smtp.tls_key), or console.insecure = true behind a TLS proxy", cfg.Console.Listen)}
	}
	l, err := net.Listen("tcp", cfg.Console.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("console.listen: %w", err)
	}
	if cfg.ConsoleTLS() {
		return tls.NewListener(l, a.tlsCert.tlsConfig()), "https", nil
	}
	if !cfg.Console.Loopback() {
		a.log.Warn("console served without TLS on a non-loopback address (console.insecure = true): only a TLS proxy should reach it",
			"addr", l.Addr().String())
	}
	return l, "http", nil
}

// Close stops the console, then stores the verdicts still pending; serve
// calls it after the SMTP sessions ended and before the database closes.
func (rc *runningConsole) Close() {
	if rc.hs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rc.hs.Shutdown(ctx) != nil {
		rc.hs.Close()
	}
	<-rc.done
	rc.ring.Close()
}

func (a *app) certExpiry() time.Time {
	if a.tlsCert == nil {
		return time.Time{}
	}
	return a.tlsCert.notAfter()
}

// consoleReports joins the two reporters for the console.
type consoleReports struct {
	*reporting.Reporter
	failures *reporting.FailureReporter
}

func (r consoleReports) FailuresPending() (int, error) { return r.failures.Pending() }

// consoleDomains shows `domain status` for our own domains.
type consoleDomains struct{ a *app }

func (d consoleDomains) List() []string {
	var out []string
	for _, dom := range d.a.cfg.InboundReports.Domains {
		if !strings.HasPrefix(dom, ".") {
			out = append(out, dom)
		}
	}
	return out
}

// Status is what `domain status` shows.
func (d consoleDomains) Status(ctx context.Context, domain string, days int) (*inbound.DomainStatus, error) {
	return d.a.domainStatus(ctx, domain, days)
}

// Daily queries the kept reports one UTC day at a time, oldest first.
func (d consoleDomains) Daily(domain string, days int) ([]console.DayCount, error) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	out := make([]console.DayCount, 0, days)
	for i := days - 1; i >= 0; i-- {
		day := today.AddDate(0, 0, -i)
		sum, err := d.a.inbound.Query(domain, day, day)
		if err != nil {
			return nil, err
		}
		out = append(out, console.DayCount{Day: day, Messages: sum.Messages, DMARCPass: sum.DMARCPass})
	}
	return out, nil
}
