// Command dmarcload measures dmarcgate under load: it sends the same
// closed-loop SMTP load first straight to a sink ("direct"), then through
// a dmarcgate subprocess relaying to that sink, and prints throughput,
// latency and peak memory for each run. The sink runs in a process of its
// own, as a mail store does (-sink-in-process keeps it in dmarcload's).
// Every address it uses is on 127.0.0.1, DNS included. It is a benchmark,
// not a test of correctness beyond counting what was accepted and what
// arrived.
//
// Usage:
//
//	dmarcload -gateway ./bin/dmarcgate -n 20000 -c 50 -size 4096 [-auth] [-spoofed PCT]
//	          [-pipelining] [-per-conn M] [-tls] [-rounds R] [-auth-cost] [-arc-cost] [-sink-in-process]
//
// This machine's speed drifts from minute to minute: -rounds repeats the
// runs, interleaved, and prints their medians. -auth-cost runs the gateway
// without and with DKIM-signed mail in each round and prints what
// authentication costs in throughput; -arc-cost does the same for ARC
// verification, with signed mail without and with a list's ARC set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the gateway failed to start, lost or invented messages
	exitUsage   = 2
)

// maxSize bounds -size below the gateway's default message size limit.
const maxSize = 20 << 20

// options are the command-line settings of one invocation.
type options struct {
	gateway    string // path of the dmarcgate binary
	n          int    // messages per run
	c          int    // concurrent connections
	size       int    // bytes per message before any DKIM-Signature
	auth       bool   // DKIM-sign the legitimate messages
	spoofed    int    // percent of messages that must be rejected by DMARC
	domains    int    // sender domains
	pipelining bool   // pipeline MAIL, RCPT and DATA
	perConn    int    // messages per connection, 0: one connection for the whole run
	tls        bool   // STARTTLS on every connection
	directOnly bool   // skip the gateway run
	rounds     int    // how many times the runs are repeated
	authCost   bool   // each round: the gateway without and with DKIM
	arcCost    bool   // each round: signed mail without and with an ARC set
	keep       bool   // keep the gateway's temporary directory
	// clusterCost is a PostgreSQL URL: each round runs the gateway with
	// aggregate reports on, alone and with cluster.postgres set to it.
	clusterCost string
	// consoleCost: each round runs the gateway without and with the web
	// console, polled every second.
	consoleCost bool
	reports     bool   // this run: aggregate reports on (rua= published)
	consoleOn   bool   // this run: the console on and polled
	clusterDSN  string // this run: cluster.postgres

	sinkInProcess bool // run the sink in this process, not in its own
}

func main() {
	if mode := os.Getenv(sinkProcessEnv); mode != "" {
		os.Exit(serveSinkProcess(mode, os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "dmarcload:", err)
		}
		return exitUsage
	}
	if err := bench(ctx, opts, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "dmarcload:", err)
		return exitFailure
	}
	return exitOK
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dmarcload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.gateway, "gateway", "", "path of the dmarcgate binary (required unless -direct-only)")
	fs.IntVar(&o.n, "n", 1000, "messages per run")
	fs.IntVar(&o.c, "c", 10, "concurrent SMTP connections")
	fs.IntVar(&o.size, "size", 4096, "message size in bytes (before the DKIM-Signature header)")
	fs.BoolVar(&o.auth, "auth", false, "DKIM-sign messages (RSA 2048, signed up front)")
	fs.IntVar(&o.spoofed, "spoofed", 0, "percent of messages with an unauthenticated p=reject From domain")
	fs.IntVar(&o.domains, "domains", 10, "sender domains served by the in-process DNS server")
	fs.BoolVar(&o.pipelining, "pipelining", false, "pipeline MAIL, RCPT and DATA in one write (RFC 2920), as MTAs do")
	fs.IntVar(&o.perConn, "per-conn", 0, "messages per connection before QUIT and a new connection (0: keep it for the whole run); an MX on the internet sees mostly 1")
	fs.BoolVar(&o.tls, "tls", false, "STARTTLS after EHLO on every connection (sink and gateway offer it with a self-signed ECDSA certificate)")
	fs.BoolVar(&o.directOnly, "direct-only", false, "measure the sink alone, without the gateway")
	fs.IntVar(&o.rounds, "rounds", 1, "repeat the runs, interleaved, and print their medians")
	fs.BoolVar(&o.authCost, "auth-cost", false, "run the gateway without and with DKIM-signed mail in each round and print the throughput authentication costs")
	fs.BoolVar(&o.arcCost, "arc-cost", false, "run the gateway with DKIM-signed mail without and with an ARC set (sealed by a list, RSA 2048) in each round and print the throughput ARC verification costs")
	fs.BoolVar(&o.sinkInProcess, "sink-in-process", false, "run the sink inside dmarcload rather than in a process of its own; the direct run then skips the process switch that every real downstream costs (for comparison with earlier figures)")
	fs.StringVar(&o.clusterCost, "cluster-cost", "", "PostgreSQL URL: run the gateway with aggregate reports on, alone and with cluster.postgres set, in each round, and print what the cluster costs")
	fs.BoolVar(&o.consoleCost, "console-cost", false, "run the gateway without and with the web console (a poller loads its Overview every second) in each round, and print what the console costs")
	fs.BoolVar(&o.keep, "keep", false, "keep the gateway's temporary directory (config, state, log)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.gateway == "" && !o.directOnly:
		return errors.New("-gateway is required (or -direct-only)")
	case o.n < 1 || o.n > 10_000_000:
		return fmt.Errorf("-n %d: want 1 to 10000000", o.n)
	case o.c < 1 || o.c > 1000:
		return fmt.Errorf("-c %d: want 1 to 1000", o.c)
	case o.size < minSize || o.size > maxSize:
		return fmt.Errorf("-size %d: want %d to %d", o.size, minSize, maxSize)
	case o.spoofed < 0 || o.spoofed > 100:
		return fmt.Errorf("-spoofed %d: want 0 to 100", o.spoofed)
	case o.domains < 1 || o.domains > 100:
		return fmt.Errorf("-domains %d: want 1 to 100", o.domains)
	case o.perConn < 0:
		return fmt.Errorf("-per-conn %d: want 0 (no limit) or more", o.perConn)
	case o.rounds < 1 || o.rounds > 100:
		return fmt.Errorf("-rounds %d: want 1 to 100", o.rounds)
	case o.authCost && (o.auth || o.spoofed > 0 || o.directOnly):
		return errors.New("-auth-cost runs both kinds itself: it takes no -auth, -spoofed or -direct-only")
	case o.consoleCost && (o.authCost || o.directOnly || o.clusterCost != ""):
		return errors.New("-console-cost takes no -auth-cost, -cluster-cost or -direct-only")
	case o.arcCost && (o.auth || o.authCost || o.spoofed > 0 || o.directOnly || o.clusterCost != "" || o.consoleCost):
		return errors.New("-arc-cost runs both kinds itself: it takes no -auth, -auth-cost, -spoofed, -direct-only, -cluster-cost or -console-cost")
	case o.clusterCost != "" && (o.authCost || o.directOnly):
		return errors.New("-cluster-cost takes no -auth-cost or -direct-only")
	}
	return nil
}
