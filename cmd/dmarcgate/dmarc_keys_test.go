package main

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/config"
)

// TestTempErrorAcceptDelivers: with dmarc.on_temperror = "accept", a
// DMARC policy lookup that fails temporarily does not defer the mail: it
// is taken (250), relayed, and our Authentication-Results says temperror
// (RFC 9989 §4.8: the receiver chooses).
func TestTempErrorAcceptDelivers(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.DMARC.OnTempError = "accept" })
	h.dns.Fail("_dmarc.broken.example.", dns.RcodeServerFailure)
	msg := message("x@broken.example", "temperror accepted")
	if err := h.send("x@broken.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("on_temperror = accept: %v, want 250", err)
	}
	added := delivered(t, h, msg)
	mustContain(t, authResults(t, added), "dmarc=temperror")
	if strings.Contains(added, "X-Spam-Flag") {
		t.Errorf("a temperror was quarantined:\n%s", added)
	}
}

// TestOwnAuthservIDAndQuarantineHeader: dmarc.authserv_id names our
// Authentication-Results (and is the id whose forged fields we remove),
// and dmarc.quarantine_header is the field quarantined mail gets.
func TestOwnAuthservIDAndQuarantineHeader(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.DMARC.AuthservID = "auth.example.org"
		c.DMARC.QuarantineHeader = "X-Quarantine: dmarc"
	})
	msg := message("x@quar.example", "quarantine me",
		"Authentication-Results: auth.example.org; dmarc=pass header.from=quar.example")
	if err := h.send("x@quar.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	msgs, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := string(msgs[0].Data)
	if !strings.HasPrefix(got, "Authentication-Results: auth.example.org;") {
		t.Errorf("our Authentication-Results does not lead with authserv_id:\n%s", got)
	}
	if n := strings.Count(got, "Authentication-Results: auth.example.org"); n != 1 {
		t.Errorf("%d fields claim auth.example.org, want ours alone:\n%s", n, got)
	}
	if strings.Contains(got, "Authentication-Results: mx.test.example") {
		t.Errorf("the hostname names a field although authserv_id is set:\n%s", got)
	}
	mustContain(t, got, "\r\nX-Quarantine: dmarc\r\n", "dmarc=fail")
	if strings.Contains(got, "X-Spam-Flag") {
		t.Errorf("the default quarantine header was added:\n%s", got)
	}
}
