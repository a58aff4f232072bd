package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/config"
)

func TestRecordCommandExplainsPolicy(t *testing.T) {
	h := newHarness(t, nil)
	out, err := runCmd(t, h, "record", "Mail.Good.Example")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "domain:", "mail.good.example", "policy domain:", "good.example (_dmarc.good.example)",
		"organizational domain:", "method:", "treewalk", "p=reject", "policy for mail.good.example:", "sp",
		"mailto:agg@good.example", "mailto:ruf@good.example", "spf record:")
	out, err = runCmd(t, h, "record", "good.example")
	if err != nil || !regexp.MustCompile(`(?m)^spf record: +v=spf1 ip4:127.0.0.0/8 -all$`).MatchString(out) || strings.Contains(out, "permerror") {
		t.Errorf("record of good.example: %v\n%s", err, out)
	}
	out, err = runCmd(t, h, "record", "nopolicy.example")
	if err != nil || !strings.Contains(out, "no DMARC policy") || !strings.Contains(out, "v=spf1 ip4:127.0.0.0/8 -all") {
		t.Errorf("record of a domain without a policy: %v\n%s", err, out)
	}
	// An SPF record a check would end in permerror for, and why.
	h.dns.Add(`sloppy.example. 300 IN TXT "v=spf1 include: _spf.example.net -all"`)
	out, err = runCmd(t, h, "record", "sloppy.example")
	if err != nil || !regexp.MustCompile(`(?m)^spf: +permerror: bad term "include:"$`).MatchString(out) {
		t.Errorf("record of a domain with a broken SPF record: %v\n%s", err, out)
	}
}

func TestLargeMessageRelayedIntact(t *testing.T) {
	h := newHarness(t, nil)
	var b strings.Builder
	b.WriteString(message("alice@nopolicy.example", "large"))
	line := strings.Repeat("0123456789", 7) + "\r\n"
	for b.Len() < 3<<20 {
		b.WriteString(line)
	}
	msg := b.String()
	if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	got, err := h.sink.Wait(1, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(got[0].Data, []byte(msg)) {
		t.Fatalf("a 3 MiB message arrived changed (%d bytes)", len(got[0].Data))
	}
}

func TestOverrideForTrustedForwarder(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.DMARC.Override = []config.Override{{Network: []string{"127.0.0.0/8"}, Domain: "good.example", Action: "none", Reason: "trusted_forwarder", Comment: "our list host"}}
	})
	msg := message("ceo@good.example", "via the list host")
	if err := h.send("list@forwarder.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("override did not prevent the reject: %v", err)
	}
	mustContain(t, authResults(t, delivered(t, h, msg)), "dmarc=fail", "dis=none")
}

func TestMessageWithoutUsableFromRefused(t *testing.T) {
	h := newHarness(t, nil)
	cases := map[string]string{
		"no From":      "To: <bob@example.org>\r\nSubject: x\r\n\r\nbody\r\n",
		"two From":     "From: <a@good.example>\r\nFrom: <b@good.example>\r\nSubject: x\r\n\r\nbody\r\n",
		"no domain":    "From: alice\r\nSubject: x\r\n\r\nbody\r\n",
		"empty header": "\r\nbody\r\n",
	}
	for name, msg := range cases {
		err := h.send("alice@good.example", []string{"bob@example.org"}, msg)
		if got := smtpCode(err); got != "550 5.7.1" {
			t.Errorf("%s: %s, want 550 5.7.1", name, got)
		} else if !strings.Contains(err.Error(), "From") {
			t.Errorf("%s: reply does not say why: %v", name, err)
		}
	}
}

func TestReviewedSpoofVariants(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 40) + ".good.example"
	cases := []struct{ name, mailFrom, msg, want string }{
		{"bare CR hides a second From", "x@forwarder.example", "From: ceo@good.example\r<x@forwarder.example>\r\nSubject: x\r\n\r\nbody\r\n", "550 5.6.0"},
		{"second mailbox beside the angle-addr", "x@forwarder.example", "From: \"CEO\" ceo@good.example, <x@forwarder.example>\r\nSubject: x\r\n\r\nbody\r\n", "550 5.7.1"},
		{"From domain too long for a _dmarc query", "x@forwarder.example", message("ceo@"+long, "long"), "550 5.7.26"},
	}
	for _, c := range cases {
		if got := smtpCode(h.send(c.mailFrom, []string{"bob@example.org"}, c.msg)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestMonitorModeDeliversUnusableFrom(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.DMARC.Mode = "monitor" })
	msg := "To: <bob@example.org>\r\nSubject: no From\r\n\r\nbody\r\n"
	if err := h.send("alice@good.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("monitor mode refused a message without From: %v", err)
	}
	mustContain(t, authResults(t, delivered(t, h, msg)), "dmarc=permerror")
}

func TestOnlyAlignableTempErrorsDeferTheVerdict(t *testing.T) {
	h := newHarness(t, nil)
	evil := h.newRSASigner("slowevil.example", "s")
	own := h.newRSASigner("good.example", "k")
	h.dns.Fail("s._domainkey.slowevil.example.", dns.RcodeServerFailure)
	h.dns.Fail("k._domainkey.good.example.", dns.RcodeServerFailure)
	err := h.send("spoof@forwarder.example", []string{"bob@example.org"}, evil.sign(t, message("ceo@good.example", "unrelated temperror")))
	if got := smtpCode(err); got != "550 5.7.26" {
		t.Errorf("spoof with a temperror of an unrelated DKIM domain: %s, want 550 5.7.26", got)
	}
	err = h.send("list@forwarder.example", []string{"bob@example.org"}, own.sign(t, message("ceo@good.example", "own temperror")))
	if got := smtpCode(err); !strings.HasPrefix(got, "451") {
		t.Errorf("own DKIM key lookup failing temporarily: %s, want 451", got)
	}
}

func TestOversizedHeaderRefused(t *testing.T) {
	h := newHarness(t, nil)
	pad := strings.Repeat("X-Pad: "+strings.Repeat("y", 90)+"\r\n", 12000) // ~1.2 MB of header
	err := h.send("alice@good.example", []string{"bob@example.org"}, "From: <alice@good.example>\r\n"+pad+"\r\nbody\r\n")
	if got := smtpCode(err); got != "552 5.3.4" {
		t.Errorf("1.2 MB header section: %s, want 552 5.3.4", got)
	}
}

// The pct sample draw covers 0-99 and nothing else.
func TestRollStaysInRange(t *testing.T) {
	seen := map[int]bool{}
	for range 20000 {
		n := roll()
		if n < 0 || n >= 100 {
			t.Fatalf("roll() = %d", n)
		}
		seen[n] = true
	}
	if len(seen) != 100 {
		t.Errorf("%d of 100 values drawn in 20000 rolls", len(seen))
	}
}
