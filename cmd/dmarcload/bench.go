package main

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"dmarcgate/resolver/resolvertest"
)

// bench runs the direct load, then (unless -direct-only) the gateway
// load, printing one table row for each; with -rounds, as many times,
// interleaved, then their medians.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var keys []*rsa.PrivateKey
	if o.auth || o.authCost || o.arcCost {
		var err error
		if keys, err = generateKeys(o.domains); err != nil {
			return err
		}
	}
	plain, err := newWorkload(o, keysIf(o.auth || o.arcCost, keys))
	if err != nil {
		return err
	}
	var signed *workload
	if o.authCost {
		so := o
		so.auth = true
		if signed, err = newWorkload(so, keys); err != nil {
			return err
		}
	}
	sink, err := startSink(o.sinkInProcess, o.tls)
	if err != nil {
		return err
	}
	defer sink.Close()
	var dnsAddr string
	if !o.directOnly {
		zone, err := buildZone(o.domains, keys, o.clusterCost != "")
		if err != nil {
			return err
		}
		if o.arcCost {
			key, err := arcKey(zone)
			if err != nil {
				return err
			}
			if signed, err = sealedWorkload(plain, key); err != nil {
				return err
			}
		}
		dns, err := resolvertest.Listen(zone)
		if err != nil {
			return err
		}
		defer dns.Close()
		dnsAddr = dns.Addr()
	}

	tab := newTable(stdout)
	tab.header()
	var rounds []round
	for i := range o.rounds {
		r, err := benchRound(ctx, o, i, sink, dnsAddr, plain, signed, tab, stderr)
		if err != nil {
			return err
		}
		rounds = append(rounds, r)
	}
	if len(rounds) > 1 || o.authCost || o.arcCost || o.clusterCost != "" || o.consoleCost {
		tab.notes(roundsSummary(rounds, costLabel(o)))
	}
	return nil
}

func keysIf(ok bool, keys []*rsa.PrivateKey) []*rsa.PrivateKey {
	if ok {
		return keys
	}
	return nil
}

// round is one round's figures: the direct run and each gateway run.
type round struct {
	direct   summary
	gateways []gatewayFigures
}

type gatewayFigures struct {
	label string
	summary
}

// benchRound measures the sink directly, then the gateway in front of it:
// with w, and with signed too for -auth-cost. Of two gateway runs, odd
// rounds run the second first, so that a drift of the machine's speed
// during a round weighs on both alike.
func benchRound(ctx context.Context, o options, n int, sink sink, dnsAddr string, w, signed *workload, tab *table, stderr io.Writer) (round, error) {
	var r round
	var err error
	r.direct, err = directRun(ctx, sink, w, o.c)
	tab.row(directLabel(o), o, r.direct, 0, 0)
	if err != nil || o.directOnly {
		return r, err
	}
	runs := []gatewayFigures{{label: gatewayLabel(o)}}
	loads := []*workload{w}
	opts := []options{o}
	if signed != nil {
		runs = append(runs, gatewayFigures{label: secondLabel(o)})
		loads = append(loads, signed)
		opts = append(opts, o)
	}
	if o.clusterCost != "" {
		alone, clustered := o, o
		alone.reports, clustered.reports, clustered.clusterDSN = true, true, o.clusterCost
		runs = []gatewayFigures{{label: "gateway+reports"}, {label: "gateway+cluster"}}
		loads, opts = []*workload{w, w}, []options{alone, clustered}
	}
	if o.consoleCost {
		with := o
		with.consoleOn = true
		runs = []gatewayFigures{{label: gatewayLabel(o)}, {label: gatewayLabel(o) + "+console"}}
		loads, opts = []*workload{w, w}, []options{o, with}
	}
	for _, i := range runOrder(len(runs), n) {
		gw, err := gatewayRun(ctx, opts[i], sink, dnsAddr, loads[i], stderr)
		if err != nil {
			return r, err
		}
		tab.row(runs[i].label, o, gw.summary, gw.rss, r.direct.rate)
		tab.notes(gw.notes())
		if err := gw.verdict(); err != nil {
			return r, err
		}
		runs[i].summary = gw.summary
	}
	r.gateways = runs
	return r, nil
}

// runOrder is the order of a round's gateway runs: as listed, but for
// two runs reversed in odd rounds (A B, B A, A B, ...).
func runOrder(runs, round int) []int {
	order := make([]int, runs)
	for i := range order {
		order[i] = i
	}
	if runs == 2 && round%2 == 1 {
		order[0], order[1] = 1, 0
	}
	return order
}

// roundsSummary gives the medians over the rounds: this machine's speed
// drifts, and a median of interleaved runs drifts least.
func roundsSummary(rounds []round, costOf string) []string {
	n := len(rounds)
	direct := make([]float64, n)
	for i, r := range rounds {
		direct[i] = r.direct.rate
	}
	lines := []string{fmt.Sprintf("median of %d rounds: direct %.0f msgs/s", n, median(direct))}
	if n == 0 || len(rounds[0].gateways) == 0 {
		return lines
	}
	for k, g := range rounds[0].gateways {
		rates, ratios, p99s := make([]float64, n), make([]float64, n), make([]float64, n)
		for i, r := range rounds {
			rates[i] = r.gateways[k].rate
			ratios[i] = r.gateways[k].rate / r.direct.rate
			p99s[i] = float64(r.gateways[k].p99)
		}
		lines = append(lines, fmt.Sprintf("median of %d rounds: %s %.0f msgs/s, %.3fx direct (each: %s), p99 %s",
			n, g.label, median(rates), median(ratios), joinFormatted("%.3f", ratios), fmtDuration(time.Duration(median(p99s)))))
	}
	if len(rounds[0].gateways) == 2 {
		costs := make([]float64, n)
		for i, r := range rounds {
			costs[i] = 100 * (1 - r.gateways[1].rate/r.gateways[0].rate)
		}
		lines = append(lines, fmt.Sprintf("%s costs %.1f%% of the gateway's throughput, median of %d rounds (each: %s)",
			costOf, median(costs), n, joinFormatted("%.1f%%", costs)))
	}
	return lines
}

// secondLabel names the second gateway run of -auth-cost and -arc-cost.
func secondLabel(o options) string {
	if o.arcCost {
		return "gateway+auth+arc"
	}
	return "gateway+auth"
}

// costLabel names what the second gateway run of a round adds.
func costLabel(o options) string {
	if o.clusterCost != "" {
		return "cluster.postgres"
	}
	if o.consoleCost {
		return "the console, polled every second,"
	}
	if o.arcCost {
		return "ARC verification"
	}
	return "authentication"
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

func joinFormatted(format string, xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " ")
}

// directRun measures the sink alone.
func directRun(ctx context.Context, sink sink, w *workload, conns int) (summary, error) {
	if err := sink.Reset(); err != nil {
		return summary{}, err
	}
	s := summarize(runLoad(ctx, sink.Addr(), w, conns))
	// The sink counts a message before it answers 250.
	got, _, err := sink.Counts()
	if err != nil {
		return s, err
	}
	if got != s.accepted {
		return s, fmt.Errorf("direct run: the sink counted %d messages but answered 250 to %d", got, s.accepted)
	}
	if s.failed > 0 {
		return s, fmt.Errorf("direct run: %d transactions failed: %s", s.failed, strings.Join(s.errSample, "; "))
	}
	return s, ctx.Err()
}

// directLabel says where the sink ran when it is not its own process.
func directLabel(o options) string {
	if o.sinkInProcess {
		return "direct, sink in-process"
	}
	return "direct"
}

func gatewayLabel(o options) string {
	label := "gateway"
	if o.auth || o.arcCost {
		label += "+auth"
	}
	if o.spoofed > 0 {
		label += fmt.Sprintf(" %d%% spoofed", o.spoofed)
	}
	return label
}
