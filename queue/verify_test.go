package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/smtpsink"
)

func verifierFor(sink *smtpsink.Sink, now func() time.Time) *Verifier {
	return NewVerifier(VerifierConfig{RelayAddr: sink.Addr(), Hostname: "mx.test",
		DialTimeout: time.Second, CommandTimeout: 2 * time.Second, Now: now})
}

func refuseUnknown(_ string, to []string) *smtp.SMTPError {
	switch strings.ToLower(to[0]) {
	case "nobody@example.test":
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	case "busy@example.test":
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "try later"}
	case "policy@example.test":
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected"}
	}
	return nil
}

func TestVerifierAnswers(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		sink := smtpsink.Start(t, smtpsink.Options{LMTP: lmtp})
		sink.SetReply(refuseUnknown)
		v := verifierFor(sink, nil)
		if lmtp {
			v = NewVerifier(VerifierConfig{RelayAddr: sink.Addr(), Protocol: "lmtp", Hostname: "mx.test"})
		}
		for rcpt, want := range map[string]error{
			"bob@example.test":    nil,
			"nobody@example.test": ErrUnknownUser,
			"busy@example.test":   ErrUnavailable,
			"policy@example.test": ErrUnavailable, // only 550/551/553 mean "no such user"
		} {
			if err := v.Check(context.Background(), rcpt); !errors.Is(err, want) || (want == nil && err != nil) {
				t.Errorf("lmtp=%v %s: got %v, want %v", lmtp, rcpt, err, want)
			}
		}
		if sink.Count() != 0 {
			t.Errorf("a probe delivered a message")
		}
	}
}

func TestVerifierCaches(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	sink.SetReply(refuseUnknown)
	clock := newClock()
	v := verifierFor(sink, clock.Now)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := v.Check(ctx, "bob@example.test"); err != nil {
			t.Fatal(err)
		}
		if err := v.Check(ctx, "nobody@Example.TEST"); !errors.Is(err, ErrUnknownUser) {
			t.Fatal(err)
		}
	}
	// Two probes (the rest are cache hits), over one connection.
	if v.Probes() != 2 || sink.Connections() != 1 {
		t.Fatalf("%d probes over %d connections, want 2 over 1", v.Probes(), sink.Connections())
	}
	clock.Add(11 * time.Minute) // negative answers expire, positive ones not yet
	v.Check(ctx, "bob@example.test")
	v.Check(ctx, "nobody@example.test")
	if v.Probes() != 3 {
		t.Fatalf("%d probes after the negative TTL, want 3", v.Probes())
	}
}

func TestVerifierDownstreamDown(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	v := verifierFor(sink, nil)
	sink.Close()
	if err := v.Check(context.Background(), "bob@example.test"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	// Not cached: once the downstream is back, the answer is fresh.
	if err := sink.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := v.Check(context.Background(), "bob@example.test"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestVerifierReusedConnectionClosed: the downstream closed the idle probe
// connection (restart, idle timeout); the next probe answers all the same,
// on a fresh connection, and Close ends the idle one.
func TestVerifierReusedConnectionClosed(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	sink.SetReply(refuseUnknown)
	v := verifierFor(sink, nil)
	ctx := context.Background()
	if err := v.Check(ctx, "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := sink.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := v.Check(ctx, "nobody@example.test"); !errors.Is(err, ErrUnknownUser) {
		t.Fatalf("after the downstream closed the connection: %v, want ErrUnknownUser", err)
	}
	if err := v.Check(ctx, "carol@example.test"); err != nil {
		t.Fatal(err)
	}
	if c := sink.Connections(); c != 2 {
		t.Fatalf("%d connections, want 2: the first, then one fresh one reused", c)
	}
	v.Close()
	waitFor(t, 5*time.Second, "the idle probe connection to close", func() bool { return sink.Open() == 0 })
}

func TestVerifierMergesConcurrentChecks(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	gate := make(chan struct{})
	var once sync.Once
	arrived := make(chan struct{})
	sink.SetReply(func(string, []string) *smtp.SMTPError {
		once.Do(func() { close(arrived) })
		<-gate
		return nil
	})
	v := verifierFor(sink, nil)
	const n = 10
	errs := make(chan error, n)
	go func() { errs <- v.Check(context.Background(), "bob@example.test") }()
	<-arrived // the first probe is at RCPT; the others must join it
	for i := 1; i < n; i++ {
		go func() { errs <- v.Check(context.Background(), "bob@example.test") }()
	}
	// Give the others time to join; one that comes late hits the cache, so
	// the assertion below holds either way.
	time.Sleep(50 * time.Millisecond)
	close(gate)
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if v.Probes() != 1 || sink.Connections() != 1 {
		t.Fatalf("%d probes, %d connections for %d concurrent checks, want 1", v.Probes(), sink.Connections(), n)
	}
}

func TestVerifierCallerContext(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	gate := make(chan struct{})
	defer close(gate)
	sink.SetReply(func(string, []string) *smtp.SMTPError { <-gate; return nil })
	v := verifierFor(sink, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := v.Check(ctx, "bob@example.test"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable when the caller gives up", err)
	}
}

func TestVerifierCacheIsBounded(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{})
	v := NewVerifier(VerifierConfig{RelayAddr: sink.Addr(), Hostname: "mx.test", MaxEntries: 3})
	for _, r := range []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"} {
		if err := v.Check(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) > 3 {
		t.Fatalf("cache holds %d entries, bound is 3", len(v.cache))
	}
}
