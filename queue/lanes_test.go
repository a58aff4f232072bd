package queue

import (
	"testing"
	"time"

	"dmarcgate/smtpsink"
)

// Mail the gateway originates (reports, DSNs) to a tarpit MX must not hold
// up relay mail to the downstream: it flows at its normal pace while the
// tarpit keeps its connections.
func TestRelayFlowsWhileTarpitHoldsOutbound(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	tp := startTarpit(t, time.Second)
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	cfg.Resolver = hostileResolver(t)
	cfg.OutboundPort = tp.port()
	cfg.CommandTimeout = 20 * time.Second
	q := newQueue(t, db, cfg)
	start(t, q)

	for i := 0; i < 6; i++ {
		enqueue(t, q, &Message{Route: RouteOutbound, Kind: KindFailureReport, From: "",
			To: []string{"ruf@hostile.test"}}, origBody)
	}
	waitFor(t, 5*time.Second, "the tarpit to hold a connection", func() bool {
		open, _, _ := tp.counts()
		return open > 0
	})
	for i := 0; i < 10; i++ {
		start := time.Now()
		enqueue(t, q, &Message{Route: RouteRelay, From: "alice@sender.test", To: []string{"bob@example.test"}}, origBody)
		if _, err := relay.Wait(i+1, 3*time.Second); err != nil {
			t.Fatalf("relay message %d: %v", i, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("relay message %d took %s behind the tarpit", i, took)
		}
	}
	if _, maxOpen, _ := tp.counts(); maxOpen > 2 {
		t.Errorf("the tarpit held %d connections at once; want at most 2 per destination", maxOpen)
	}
}

// A server that trickles its greeting cannot stretch one stage past its
// timeout by sending a byte now and then.
func TestGreetingStageHasOneDeadline(t *testing.T) {
	db, dir := openDB(t)
	tp := startTarpit(t, 200*time.Millisecond)
	cfg := testConfig(dir)
	cfg.Resolver = hostileResolver(t)
	cfg.OutboundPort = tp.port()
	cfg.CommandTimeout = time.Second
	q := newQueue(t, db, cfg)
	start(t, q)
	begin := time.Now()
	id := enqueue(t, q, &Message{Route: RouteOutbound, Kind: KindReport, From: "",
		To: []string{"rua@hostile.test"}}, origBody)
	waitFor(t, 4*time.Second, "the attempt to end", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts > 0
	})
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("attempt took %s with a 1s greeting timeout", took)
	}
}
