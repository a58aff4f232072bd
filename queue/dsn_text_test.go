package queue

import (
	"net"
	"strings"
	"testing"
	"time"

	"dmarcgate/smtpsink"
)

// A give-up DSN says what failed, not where: nothing of the downstream's
// address (or ours) from the dial error reaches the sender.
func TestGiveUpDSNHidesAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relayAddr := ln.Addr().String()
	ln.Close() // nothing listens there: connection refused
	out := smtpsink.Start(t, smtpsink.Options{})
	db, dir := openDB(t)
	clock := newClock()
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Smarthost, cfg.Now = relayAddr, out.Addr(), clock.Now
	q := newQueue(t, db, cfg)
	enqueue(t, q, &Message{Route: RouteRelay, From: "alice@sender.test", To: []string{"bob@example.test"},
		Expire: time.Minute}, origBody)
	clock.Add(2 * time.Minute)
	start(t, q)
	got, err := out.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dsn := string(got[0].Data)
	_, port, _ := net.SplitHostPort(relayAddr)
	text := dsn[:strings.Index(dsn, "Undelivered Message Headers")]
	for _, leak := range []string{"127.0.0.1", ":" + port, "dial tcp"} {
		if strings.Contains(text, leak) {
			t.Errorf("DSN shows %q:\n%s", leak, text)
		}
	}
	if !strings.Contains(text, "refused") {
		t.Errorf("DSN does not say the connection was refused:\n%s", text)
	}
}
