package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"dmarcgate/config"
)

// BenchmarkRelay measures the whole gateway in one process: 50 concurrent
// SMTP clients send 4 KB messages that pass DMARC (p=reject, no report
// addresses, as cmd/dmarcload's sender domains), each is fsync'd before
// its 250 and relayed to the sink. "spf" messages pass by SPF alone; "dkim"
// ones also carry an RSA-2048 signature, verified each time (the DNS cache
// is warm after the first). ns/op is wall time per message for all
// clients together; run it with -cpuprofile to see where the gateway's CPU
// goes (clients and sink are in the profile too).
func BenchmarkRelay(b *testing.B) {
	b.Run("spf", func(b *testing.B) { benchmarkRelay(b, false) })
	b.Run("dkim", func(b *testing.B) { benchmarkRelay(b, true) })
}

func benchmarkRelay(b *testing.B, sign bool) {
	const conns = 50
	h := newHarness(b, func(c *config.Config) { c.SMTP.MaxConnectionsPerIP = conns })
	h.dns.Add(`load.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	h.dns.Add(`_dmarc.load.example. 300 IN TXT "v=DMARC1; p=reject"`)
	msg := message("bench@load.example", "load") + strings.Repeat("x", 76) + "\r\n"
	for len(msg) < 4096 {
		msg += strings.Repeat("y", 76) + "\r\n"
	}
	if sign {
		msg = h.newRSASigner("load.example", "bench").sign(b, msg)
	}
	passedBefore := metricValue(b, "dmarcgate_auth_results_total", "dkim", "pass")
	commitsBefore := metricValue(b, "dmarcgate_commit_batch_size")
	clients := make([]*smtp.Client, conns)
	for i := range clients {
		c, err := smtp.Dial(h.addr)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Hello("client.test"); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
		defer c.Close()
	}
	b.SetBytes(int64(len(msg)))
	cpuBefore := processCPU(b)
	b.ResetTimer()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := sendOn(c, "bench@load.example", "user@example.org", msg); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	if _, err := h.sink.Wait(b.N, 30*time.Second); err != nil {
		b.Fatalf("relayed: %v", err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	// CPU time drifts less than wall time on a shared machine; it counts
	// the clients and the sink too, which are the same in every variant.
	b.ReportMetric(float64((processCPU(b)-cpuBefore).Microseconds())/float64(b.N), "cpu-us/msg")
	// Each message is committed once when accepted and once when relayed.
	b.ReportMetric((metricValue(b, "dmarcgate_commit_batch_size")-commitsBefore)/float64(b.N), "commits/msg")
	if passed := metricValue(b, "dmarcgate_auth_results_total", "dkim", "pass") - passedBefore; sign && passed < float64(b.N) {
		b.Fatalf("%v DKIM passes for %d signed messages", passed, b.N)
	}
}

// metricValue reads a counter, or a histogram's count, of the default
// registry by its label values.
func metricValue(b *testing.B, name string, labelValues ...string) float64 {
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			labels := m.GetLabel()
			if len(labels) != len(labelValues) {
				continue
			}
			for i, l := range labels {
				if l.GetValue() != labelValues[i] {
					continue metrics
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// sendOn runs one transaction on an open client connection.
func sendOn(c *smtp.Client, from, to, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := strings.NewReader(msg).WriteTo(w); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return w.Close()
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
