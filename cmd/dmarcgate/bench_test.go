package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
)

// BenchmarkRelay measures the whole gateway in one process: 50 concurrent
// SMTP clients send 4 KB messages that pass DMARC by SPF (p=reject, no
// report addresses, as cmd/dmarcload's sender domains), each is fsync'd
// before its 250 and relayed to the sink. ns/op is wall time per message
// for all clients together; run it with -cpuprofile to see where the
// gateway's CPU goes (clients and sink are in the profile too).
func BenchmarkRelay(b *testing.B) {
	const conns = 50
	h := newHarness(b, func(c *config.Config) { c.SMTP.MaxConnectionsPerIP = conns })
	h.dns.Add(`load.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	h.dns.Add(`_dmarc.load.example. 300 IN TXT "v=DMARC1; p=reject"`)
	msg := message("bench@load.example", "load") + strings.Repeat("x", 76) + "\r\n"
	for len(msg) < 4096 {
		msg += strings.Repeat("y", 76) + "\r\n"
	}
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
