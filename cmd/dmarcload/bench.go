package main

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"strings"

	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// bench runs the direct load, then (unless -direct-only) the gateway
// load, printing one table row for each.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var keys []*rsa.PrivateKey
	if o.auth {
		var err error
		if keys, err = generateKeys(o.domains); err != nil {
			return err
		}
	}
	w, err := newWorkload(o, keys)
	if err != nil {
		return err
	}
	sink, err := smtpsink.Listen("127.0.0.1:0", smtpsink.Options{Discard: true, Hostname: "sink.bench.example"})
	if err != nil {
		return err
	}
	defer sink.Close()

	tab := newTable(stdout)
	tab.header()
	direct, err := directRun(ctx, sink, w, o.c)
	tab.row("direct", o, direct, 0, 0)
	if err != nil || o.directOnly {
		return err
	}

	zone, err := buildZone(o.domains, keys)
	if err != nil {
		return err
	}
	dns, err := resolvertest.Listen(zone)
	if err != nil {
		return err
	}
	defer dns.Close()
	gw, err := gatewayRun(ctx, o, sink, dns.Addr(), w, stderr)
	if err != nil {
		return err
	}
	tab.row(gatewayLabel(o), o, gw.summary, gw.rss, direct.rate)
	tab.notes(gw.notes())
	return gw.verdict()
}

// directRun measures the sink alone.
func directRun(ctx context.Context, sink *smtpsink.Sink, w *workload, conns int) (summary, error) {
	sink.Reset()
	s := summarize(runLoad(ctx, sink.Addr(), w, conns))
	// The sink counts a message before it answers 250.
	if got := sink.Count(); got != s.accepted {
		return s, fmt.Errorf("direct run: the sink counted %d messages but answered 250 to %d", got, s.accepted)
	}
	if s.failed > 0 {
		return s, fmt.Errorf("direct run: %d transactions failed: %s", s.failed, strings.Join(s.errSample, "; "))
	}
	return s, ctx.Err()
}

func gatewayLabel(o options) string {
	label := "gateway"
	if o.auth {
		label += "+auth"
	}
	if o.spoofed > 0 {
		label += fmt.Sprintf(" %d%% spoofed", o.spoofed)
	}
	return label
}
