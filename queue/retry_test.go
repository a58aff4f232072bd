package queue

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"dmarcgate/smtpsink"
)

func TestGiveUpAfterExpiryBouncesWithRunOnce(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	relay.Close() // down for the whole test
	bounces := smtpsink.Start(t, smtpsink.Options{})
	clock := newClock()
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Smarthost, cfg.Now = relay.Addr(), bounces.Addr(), clock.Now
	cfg.RetryFirst, cfg.RetryMax = time.Minute, time.Hour
	q := newQueue(t, db, cfg)
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "alice@sender.test", To: []string{"bob@example.test"},
		Expire: 2 * time.Hour}, origBody)
	ctx := context.Background()

	if err := q.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := q.Get(id)
	if err != nil || m.Attempts != 1 {
		t.Fatalf("after one run: %+v, %v", m, err)
	}
	if err := q.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := q.Get(id); m.Attempts != 1 {
		t.Fatalf("RunOnce attempted an entry that was not due: %d attempts", m.Attempts)
	}
	clock.Add(3 * time.Hour) // past Expire
	if err := q.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	dsns, err := bounces.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if q.Stats().Depth != 0 {
		t.Fatalf("queue not empty after give-up and DSN: %+v", q.Stats())
	}
	d := parseDSN(t, dsns[0].Data)
	if len(d.perRcpt) != 1 || d.perRcpt[0].Get("Status") != "4.4.7" || d.perRcpt[0].Get("Action") != "failed" {
		t.Fatalf("give-up DSN recipient fields %v", d.perRcpt)
	}
}

func TestBackoffDoublesWithJitterAndCap(t *testing.T) {
	q := &Queue{cfg: Config{RetryFirst: time.Minute, RetryMax: 10 * time.Minute}}
	for _, tc := range []struct {
		attempts int
		base     time.Duration
	}{
		{1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute}, {4, 8 * time.Minute},
		{5, 10 * time.Minute}, {50, 10 * time.Minute},
	} {
		for i := 0; i < 20; i++ {
			d := q.backoff(tc.attempts)
			if d < tc.base*9/10 || d > tc.base*11/10 {
				t.Fatalf("backoff(%d) = %v, want %v ±10%%", tc.attempts, d, tc.base)
			}
		}
	}
}

func TestOpportunisticStartTLS(t *testing.T) {
	cert, err := smtpsink.SelfSignedTLS("relay.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		sinkTLS  *tls.Config
		relayTLS bool
		wantTLS  bool
	}{
		{"offered and wanted", cert, true, true},
		{"offered, not wanted", cert, false, false},
		{"wanted, not offered", nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, dir := openDB(t)
			relay := smtpsink.Start(t, smtpsink.Options{TLS: tc.sinkTLS})
			cfg := testConfig(dir)
			cfg.RelayAddr, cfg.RelayTLS = relay.Addr(), tc.relayTLS
			q := newQueue(t, db, cfg)
			enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
			if err := q.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err := relay.Wait(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].TLS != tc.wantTLS || string(got[0].Data) != origBody {
				t.Fatalf("TLS=%v (want %v), data %q", got[0].TLS, tc.wantTLS, got[0].Data)
			}
		})
	}
}

func TestFailedStartTLSFallsBackToPlainText(t *testing.T) {
	cert, err := smtpsink.SelfSignedTLS("relay.test")
	if err != nil {
		t.Fatal(err)
	}
	cert.MinVersion = tls.VersionTLS13
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{TLS: cert})
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.RelayTLS = relay.Addr(), true
	cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12} // no common version
	q := newQueue(t, db, cfg)
	enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
	if err := q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := relay.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].TLS || relay.Connections() != 2 {
		t.Fatalf("TLS=%v after %d connections, want plain text on the second", got[0].TLS, relay.Connections())
	}
}

// A new connection to a server met before resumes its TLS session.
func TestStartTLSResumesSessions(t *testing.T) {
	cert, err := smtpsink.SelfSignedTLS("relay.test")
	if err != nil {
		t.Fatal(err)
	}
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{TLS: cert})
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.RelayTLS = relay.Addr(), true
	cfg.Workers, cfg.MaxConnMessages = 1, 1 // a connection of its own for each message, in turn
	q := newQueue(t, db, cfg)
	for range 3 {
		enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
	}
	if err := q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := relay.Wait(3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, m := range got {
		if !m.TLS {
			t.Fatal("a message went in plain text")
		}
		if m.TLSResumed {
			resumed++
		}
	}
	if resumed != 2 {
		t.Fatalf("%d of 3 sessions resumed, want all but the first", resumed)
	}
}
