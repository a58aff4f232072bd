package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"dmarcgate/smtpsink"
)

// settleTime is how long the sink is watched after the drain for
// messages beyond those accepted (duplicates, relayed rejects).
const settleTime = 500 * time.Millisecond

// drainTimeout is how long the gateway may take to relay what it
// accepted: proportional to the load.
func drainTimeout(n int) time.Duration { return 30*time.Second + time.Duration(n)*10*time.Millisecond }

// gatewayResult is one gateway run's figures and findings.
type gatewayResult struct {
	summary
	spoofedSent    int
	received       int // by the sink, after drain and settle
	spoofedRelayed int // spoofed envelopes the sink received
	dsns           int // messages the gateway sent on its own
	drain          time.Duration
	drainErr       error
	rss            int64 // peak, bytes
	rssErr         error
	cpu            time.Duration // user+system over the gateway's life
	stopErr        error
	consoleNote    string // what the console poller did, when it ran
}

// gatewayRun starts the gateway in front of sink, sends w through it and
// waits for everything it accepted to reach the sink.
func gatewayRun(ctx context.Context, o options, sink sink, dnsAddr string, w *workload, stderr io.Writer) (*gatewayResult, error) {
	dir, err := os.MkdirTemp("", "dmarcload-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(stderr, "dmarcload: gateway config, state and log kept in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	outbound, err := smtpsink.Listen("127.0.0.1:0", smtpsink.Options{Discard: true, Hostname: "outbound.bench.example"})
	if err != nil {
		return nil, err
	}
	defer outbound.Close()

	if err := sink.Reset(); err != nil {
		return nil, err
	}

	setup := gatewaySetup{dir: dir, relay: sink.Addr(), outbound: outbound.Addr(), dns: dnsAddr, maxConns: o.c + 10,
		reports: o.reports, postgres: o.clusterDSN}
	if o.tls {
		if setup.tlsCert, setup.tlsKey, err = writeSelfSigned(dir, "mx.bench.example"); err != nil {
			return nil, err
		}
	}
	if o.consoleOn {
		if setup.consoleHash, err = consoleHash(); err != nil {
			return nil, err
		}
	}
	g, err := startGateway(ctx, o.gateway, setup)
	if err != nil {
		return nil, err
	}
	r := &gatewayResult{spoofedSent: w.spoofedCount()}
	pollers, err := g.startConsolePoller(o.consoleOn)
	if err != nil {
		g.stop()
		return nil, err
	}
	r.summary = summarize(runLoad(ctx, g.addr, w, o.c))
	r.consoleNote = pollers.stop()
	start := time.Now()
	r.drainErr = waitForCount(ctx, sink, r.accepted, drainTimeout(w.n))
	r.drain = time.Since(start)
	time.Sleep(settleTime)
	if r.received, r.spoofedRelayed, err = sink.Counts(); err != nil {
		g.stop()
		return nil, err
	}
	r.dsns = outbound.Count()
	r.rss, r.rssErr = g.peakRSS()
	r.cpu, r.stopErr = g.stop()
	if r.stopErr != nil {
		r.stopErr = fmt.Errorf("%w; its log ends:\n%s", r.stopErr, g.log.tail())
	}
	return r, nil
}

// cpuPerMessage is ", N µs per message", or "" before any was sent.
func (r *gatewayResult) cpuPerMessage() string {
	if r.sent == 0 {
		return ""
	}
	return fmt.Sprintf(", %d µs per message", r.cpu.Microseconds()/int64(r.sent))
}

// notes are the lines printed under the run's row.
func (r *gatewayResult) notes() []string {
	notes := []string{
		fmt.Sprintf("sink received %d of %d accepted (drain %s after the last reply)", r.received, r.accepted, fmtDuration(r.drain)),
		fmt.Sprintf("gateway CPU %s (user+system, whole life) for %s of load%s", fmtDuration(r.cpu), fmtDuration(r.wall), r.cpuPerMessage()),
	}
	if r.consoleNote != "" {
		notes = append(notes, r.consoleNote)
	}
	if r.spoofedSent > 0 {
		notes = append(notes, fmt.Sprintf("spoofed: %d sent, %d accepted, %d relayed", r.spoofedSent, r.spoofedAccepted, r.spoofedRelayed))
	}
	if len(r.refusals) > 0 {
		var parts []string
		for status, n := range r.refusals {
			parts = append(parts, fmt.Sprintf("%q x%d", status, n))
		}
		slices.Sort(parts)
		notes = append(notes, "refusals: "+strings.Join(parts, ", "))
	}
	if r.legitRefused > 0 {
		notes = append(notes, fmt.Sprintf("WARNING: %d legitimate messages were refused", r.legitRefused))
	}
	if r.failed > 0 {
		notes = append(notes, fmt.Sprintf("WARNING: %d transactions failed: %s", r.failed, strings.Join(r.errSample, "; ")))
	}
	if r.dsns > 0 {
		notes = append(notes, fmt.Sprintf("WARNING: the gateway sent %d messages of its own (DSNs?)", r.dsns))
	}
	if r.rssErr != nil {
		notes = append(notes, "peak RSS unknown: "+r.rssErr.Error())
	}
	return notes
}

// verdict fails the run when messages were lost, invented, or let
// through against DMARC, or the gateway did not stop cleanly.
func (r *gatewayResult) verdict() error {
	var errs []error
	if lost := r.accepted - r.received; lost > 0 {
		errs = append(errs, fmt.Errorf("%d of %d accepted messages never reached the sink (%v)", lost, r.accepted, r.drainErr))
	}
	if extra := r.received - r.accepted; extra > 0 {
		errs = append(errs, fmt.Errorf("the sink received %d messages more than the gateway accepted", extra))
	}
	if r.spoofedAccepted > 0 || r.spoofedRelayed > 0 {
		errs = append(errs, fmt.Errorf("%d spoofed messages were accepted and %d relayed; all should get 550 5.7.26", r.spoofedAccepted, r.spoofedRelayed))
	}
	if r.stopErr != nil {
		errs = append(errs, fmt.Errorf("gateway stop: %w", r.stopErr))
	}
	return errors.Join(errs...)
}

// waitForCount waits until sink has received n messages, for at most
// timeout.
func waitForCount(ctx context.Context, sink sink, n int, timeout time.Duration) error {
	const poll = 10 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		got, _, err := sink.Counts()
		if err != nil || got >= n {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sink had %d of %d messages after %v", got, n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
