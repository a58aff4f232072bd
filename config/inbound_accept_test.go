package config

import (
	"errors"
	"strings"
	"testing"
)

// TestInboundAddressesMustBeAccepted: a report address outside
// smtp.accept_domains would get 550 5.7.1 at RCPT, its reports lost to
// the sender's bounce: the configuration says so instead.
func TestInboundAddressesMustBeAccepted(t *testing.T) {
	const base = "hostname = \"mx.test\"\n[relay]\naddress = \"127.0.0.1:10025\"\n" +
		"[reporting]\norg_name = \"Test\"\nemail = \"dmarc@example.org\"\n"
	for _, c := range []struct {
		accept, address string
		ok              bool
	}{
		{`"example.org"`, "DMARC@Example.ORG", true},
		{`".example.org"`, "dmarc@reports.example.org", true},
		{`"example.org", ".example.net"`, "dmarc@a.example.net", true},
		{`"example.org"`, "dmarc@other.example", false},
		{`"example.org"`, "dmarc@reports.example.org", false},
		{`".example.org"`, "dmarc@example.org", false},
		{`".example.org"`, "dmarc@badexample.org", false},
	} {
		doc := base + "[smtp]\naccept_domains = [" + c.accept + "]\npostmaster_address = \"postmaster@example.org\"\n" +
			"[inbound_reports]\naddresses = [\"" + c.address + "\"]\n"
		_, err := Parse([]byte(doc))
		var ce *Error
		switch {
		case c.ok && err != nil:
			t.Errorf("accept %s, address %s: %v", c.accept, c.address, err)
		case !c.ok && (!errors.As(err, &ce) || ce.Key != "inbound_reports.addresses" || !strings.Contains(err.Error(), "smtp.accept_domains")):
			t.Errorf("accept %s, address %s: err = %v, want one naming inbound_reports.addresses and smtp.accept_domains", c.accept, c.address, err)
		}
	}
}
