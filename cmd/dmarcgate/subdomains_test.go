package main

import (
	"testing"
	"time"

	"dmarcgate/config"
)

// smtp.accept_domains ".example.com" takes mail for every subdomain of
// example.com at any depth, over a real session, but not for example.com
// itself nor for a name that merely ends in it.
func TestAcceptDomainsLeadingDotOverSMTP(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.AcceptDomains = append(c.SMTP.AcceptDomains, ".example.com")
	})
	c := dialRaw(t, h.addr)
	c.cmd("EHLO client.example")
	wantPrefix(t, "MAIL", c.cmd("MAIL FROM:<alice@good.example>"), "250 ")
	for rcpt, want := range map[string]string{
		"bob@a.example.com":        "250 2.1.5 ",
		"bob@B.Deep.Example.COM":   "250 2.1.5 ",
		"bob@example.com":          "550 5.7.1 ",
		"bob@badexample.com":       "550 5.7.1 ",
		"bob@a.example.com.evil.x": "550 5.7.1 ",
	} {
		wantPrefix(t, "RCPT "+rcpt, c.cmd("RCPT TO:<"+rcpt+">"), want)
	}
	c.cmd("DATA")
	wantPrefix(t, "end of data", c.cmd(message("alice@good.example", "subdomains")+"."), "250 ")
	got, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if to := got[0].To; len(to) != 2 {
		t.Errorf("relayed to %q, want the two subdomain recipients", to)
	}
}
