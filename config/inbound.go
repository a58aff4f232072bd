package config

import (
	"net/mail"
	"strings"
	"time"
)

// InboundReports is the domain owner's side: the DMARC reports other
// receivers send about our domains.
type InboundReports struct {
	// Addresses: recipients whose mail is read as reports (our rua=/ruf=).
	Addresses []string `toml:"addresses"`
	// Domains: policy domains (and their subdomains) whose reports are
	// kept; empty means smtp.accept_domains.
	Domains []string `toml:"domains"`
	// Deliver: still relay report mail downstream.
	Deliver bool `toml:"deliver"`
	// Retention: how long kept reports stay.
	Retention Duration `toml:"retention"`
}

func (c *Config) validateInbound() error {
	r := &c.InboundReports
	for i, a := range r.Addresses {
		a = strings.ToLower(strings.TrimSpace(a))
		if _, err := mail.ParseAddress(a); err != nil || !strings.Contains(a, "@") {
			return bad("inbound_reports.addresses", "%q is not an email address", r.Addresses[i])
		}
		if !acceptedDomain(c.SMTP.AcceptDomains, a[strings.LastIndexByte(a, '@')+1:]) {
			return bad("inbound_reports.addresses", "%q is outside smtp.accept_domains: mail to it would be refused (550 5.7.1)", r.Addresses[i])
		}
		r.Addresses[i] = a
	}
	for i, d := range r.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if !isDomain(strings.TrimPrefix(d, ".")) {
			return bad("inbound_reports.domains", "%q is not a domain", r.Domains[i])
		}
		r.Domains[i] = d
	}
	if len(r.Domains) == 0 {
		r.Domains = append([]string(nil), c.SMTP.AcceptDomains...)
	}
	if r.Retention.Duration < 24*time.Hour {
		return bad("inbound_reports.retention", "must be at least 24h")
	}
	return nil
}

// acceptedDomain reports whether RCPT TO a domain d passes accept (the
// normalized smtp.accept_domains: exact names, ".domain" for subdomains),
// as the SMTP server matches it: a report address must be one we take.
func acceptedDomain(accept []string, d string) bool {
	for _, a := range accept {
		if d == a || strings.HasPrefix(a, ".") && len(d) > len(a) && strings.HasSuffix(d, a) && d[len(d)-len(a)-1] != '.' {
			return true
		}
	}
	return false
}
