package reporting

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
	"go.etcd.io/bbolt"

	"dmarcgate/policy"
	"dmarcgate/queue"
)

// TestFailureBurst: 100 failing messages at once give one report per
// source IP and domain; across many sources the hourly cap and the daily
// cap per destination hold.
func TestFailureBurst(t *testing.T) {
	burst := func(e *failureEnv, ip func(i int) string) {
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ev := failingEvent("a.example", ip(i), fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, dkimBad)
				e.arrive(ev)
			}()
		}
		wg.Wait()
	}
	t.Run("one source", func(t *testing.T) {
		e := newFailureEnv(t, nil)
		limited := counterValue("rate_limited")
		burst(e, func(int) string { return "192.0.2.1" })
		if n := e.pending(); n != 1 {
			t.Fatalf("%d reports stored, want 1", n)
		}
		if d := counterValue("rate_limited") - limited; d != 99 {
			t.Errorf("rate_limited moved by %v, want 99", d)
		}
		e.sendFailures()
		e.reports(1)
	})
	t.Run("share per organisation", func(t *testing.T) {
		// One domain gets a tenth of the hourly budget; the rest stays for others.
		e := newFailureEnv(t, func(c *FailureConfig) { c.MaxPerHour = 70 })
		burst(e, func(i int) string { return fmt.Sprintf("192.0.2.%d", i+1) })
		if n := e.pending(); n != 7 {
			t.Fatalf("%d reports stored, want 7", n)
		}
	})
	t.Run("daily cap per destination", func(t *testing.T) {
		e := newFailureEnv(t, func(c *FailureConfig) { c.MaxPerDestinationPerDay = 4 })
		burst(e, func(i int) string { return fmt.Sprintf("192.0.2.%d", i+1) })
		e.sendFailures()
		e.reports(4)
		if n := e.sink.Count(); n != 4 {
			t.Fatalf("%d reports sent, want 4", n)
		}
		e.clock.Add(24 * time.Hour)
		e.arrive(failingEvent("a.example", "192.0.2.200", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, nil))
		e.sendFailures()
		if _, err := e.sink.Wait(5, 10*time.Second); err != nil {
			t.Fatalf("next day: %v", err)
		}
	})
}

// TestFailureExternalDestination: an external ruf gets reports only with
// its _report._dmarc authorization (RFC 9991 §5).
func TestFailureExternalDestination(t *testing.T) {
	e := newFailureEnv(t, nil)
	unauth, queued := counterValue("unauthorized"), counterValue("queued")
	rec := "v=DMARC1; p=reject; ruf=mailto:ruf@elsewhere.example,mailto:ruf@reports.example"
	e.arrive(failingEvent("a.example", "192.0.2.1", rec, bothFail, spfFail, nil))
	e.sendFailures()
	msgs, err := e.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0].To; len(got) != 1 || got[0] != "ruf@reports.example" {
		t.Errorf("report went to %v, want the authorized ruf@reports.example", got)
	}
	if d := counterValue("unauthorized") - unauth; d != 1 {
		t.Errorf("unauthorized moved by %v, want 1", d)
	}
	if d := counterValue("queued") - queued; d != 1 {
		t.Errorf("queued moved by %v, want 1 (nothing for the unauthorized address)", d)
	}
	if e.pending() != 0 {
		t.Errorf("%d still pending", e.pending())
	}
}

// TestFailureDestinationCheckRetries: a temporary DNS failure keeps the
// report pending; after DropAfter it is given up.
func TestFailureDestinationCheckRetries(t *testing.T) {
	e := newFailureEnv(t, nil)
	e.dns.Fail("a.example._report._dmarc.reports.example.", dns.RcodeServerFailure)
	e.arrive(failingEvent("a.example", "192.0.2.1", "v=DMARC1; p=reject; ruf=mailto:ruf@reports.example", bothFail, spfFail, nil))
	e.sendFailures()
	if e.pending() != 1 {
		t.Fatalf("report not kept after a temporary failure: %d pending", e.pending())
	}
	dropped := counterValue("dropped")
	e.clock.Add(25 * time.Hour)
	e.sendFailures()
	if e.pending() != 0 || counterValue("dropped")-dropped != 1 {
		t.Fatalf("after DropAfter: %d pending, dropped moved by %v", e.pending(), counterValue("dropped")-dropped)
	}
	if n := e.sink.Count(); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

// TestFailureSuppressed: an address that bounced gets nothing.
func TestFailureSuppressed(t *testing.T) {
	e := newFailureEnv(t, nil)
	if err := e.rep.Suppress(context.Background(), "ruf@a.example"); err != nil {
		t.Fatal(err)
	}
	supp := counterValue("suppressed")
	e.arrive(failingEvent("a.example", "192.0.2.1", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, nil))
	e.sendFailures()
	if d := counterValue("suppressed") - supp; d != 1 || e.pending() != 0 {
		t.Fatalf("suppressed moved by %v, %d pending", d, e.pending())
	}
}

// TestFailureNever: no report about bounces, reports, our own reporting
// address, records with psd=y, without ruf, or while disabled.
func TestFailureNever(t *testing.T) {
	e := newFailureEnv(t, nil)
	base := func() *Event {
		return failingEvent("a.example", "192.0.2.1", fmt.Sprintf(rufRecord, "a.example"), bothFail, spfFail, nil)
	}
	tests := map[string]func(*Event){
		"bounce": func(ev *Event) { ev.EnvelopeFrom = "" },
		"failure report": func(ev *Event) {
			ev.Header = []byte("Content-Type: multipart/report; report-type=feedback-report; boundary=x\r\n")
		},
		"to our address":   func(ev *Event) { ev.EnvelopeTo = []string{ourReportAddress} },
		"from our address": func(ev *Event) { ev.Header = []byte("From: " + ourReportAddress + "\r\n") },
		"psd=y": func(ev *Event) {
			ev.Discovery.Record, _ = policy.ParseRecord("v=DMARC1; p=reject; psd=y; ruf=mailto:ruf@a.example")
		},
		"no ruf": func(ev *Event) { ev.Discovery.Record, _ = policy.ParseRecord("v=DMARC1; p=reject") },
		"https ruf only": func(ev *Event) {
			ev.Discovery.Record, _ = policy.ParseRecord("v=DMARC1; p=reject; ruf=https://a.example/r")
		},
		"no policy": func(ev *Event) { ev.Discovery = nil },
	}
	for name, change := range tests {
		ev := base()
		change(ev)
		if e.arrive(ev) {
			t.Errorf("%s: a report was due", name)
		}
	}
	if e.pending() != 0 {
		t.Fatalf("%d reports stored", e.pending())
	}
	off := newFailureEnv(t, func(c *FailureConfig) { c.Enabled = false })
	disabled := counterValue("disabled")
	if off.arrive(base()) || off.pending() != 0 {
		t.Error("report stored while disabled")
	}
	if d := counterValue("disabled") - disabled; d != 1 {
		t.Errorf("disabled moved by %v, want 1", d)
	}
}

// TestFailureBounceSuppresses: a hard bounce of a failure report puts the
// address on the shared suppression list; a give-up does not.
func TestFailureBounceSuppresses(t *testing.T) {
	e := newFailureEnv(t, nil)
	isSuppressed := func(addr string) bool {
		var s bool
		e.db.View(func(tx *bbolt.Tx) error { s = suppressed(tx, addr, e.clock.Now()); return nil })
		return s
	}
	m := &queue.Message{Kind: queue.KindFailureReport}
	e.fr.OnPermanentFailure(m, "late@a.example", fmt.Errorf("gave up after 24h"))
	e.fr.OnPermanentFailure(&queue.Message{Kind: queue.KindMail}, "mail@a.example", &smtp.SMTPError{Code: 550})
	e.fr.OnPermanentFailure(m, "gone@a.example", &smtp.SMTPError{Code: 550, Message: "no such user"})
	if isSuppressed("late@a.example") || isSuppressed("mail@a.example") || !isSuppressed("gone@a.example") {
		t.Fatalf("suppressed: late %v, mail %v, gone %v", isSuppressed("late@a.example"),
			isSuppressed("mail@a.example"), isSuppressed("gone@a.example"))
	}
}
