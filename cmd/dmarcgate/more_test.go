package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
		"mailto:agg@good.example", "mailto:ruf@good.example")
	out, err = runCmd(t, h, "record", "nopolicy.example")
	if err != nil || !strings.Contains(out, "no DMARC policy") {
		t.Errorf("record of a domain without a policy: %v\n%s", err, out)
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
