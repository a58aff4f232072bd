package config

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"
)

// Validate checks required keys, enumerations and addresses.
func (c *Config) Validate() error {
	checks := []func() error{c.validateTop, c.validateSMTP, c.validateRelay, c.validateDMARC, c.validateReporting, c.validateARC, c.validateInbound, c.validateConsole, c.validateCluster}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func bad(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validateTop() error {
	if strings.TrimSpace(c.Hostname) == "" {
		return bad("hostname", "required (the banner and EHLO name)")
	}
	if strings.ContainsAny(c.Hostname, " \t\r\n;") {
		return bad("hostname", "not a host name: %q", c.Hostname)
	}
	if c.StateDir == "" {
		return bad("state_dir", "required")
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		return bad("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		return bad("log.format", "must be text or json, not %q", c.Log.Format)
	}
	for _, s := range c.DNS.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return bad("dns.servers", "%q is not host:port", s)
		}
	}
	if c.Metrics.Listen != "" {
		if err := checkListen(c.Metrics.Listen); err != nil {
			return bad("metrics.listen", "%v", err)
		}
	}
	return nil
}

func (c *Config) validateSMTP() error {
	s := &c.SMTP
	if len(s.Listen) == 0 {
		return bad("smtp.listen", "required: at least one host:port")
	}
	for _, l := range s.Listen {
		if err := checkListen(l); err != nil {
			return bad("smtp.listen", "%v", err)
		}
	}
	if len(s.AcceptDomains) == 0 {
		return bad("smtp.accept_domains", "required: the recipient domains this gateway accepts mail for")
	}
	for i, d := range s.AcceptDomains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		// ".example.org" stands for every subdomain of example.org (not
		// example.org itself): one leading dot, then a domain.
		if !isDomain(strings.TrimPrefix(d, ".")) {
			return bad("smtp.accept_domains", "%q is not a domain (or .domain for its subdomains)", s.AcceptDomains[i])
		}
		s.AcceptDomains[i] = d
	}
	if err := s.validatePostmaster(); err != nil {
		return err
	}
	if s.MaxMessageSize <= 0 || s.MaxRecipients <= 0 || s.MaxConnections <= 0 || s.MaxConnectionsPerIP <= 0 {
		return bad("smtp", "max_message_size, max_recipients, max_connections and max_connections_per_ip must be positive")
	}
	if s.IPv6Prefix < 1 || s.IPv6Prefix > 128 {
		return bad("smtp.ipv6_prefix", "must be a prefix length from 1 to 128")
	}
	if s.ReadTimeout.Duration <= 0 {
		return bad("smtp.read_timeout", "must be positive")
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return bad("smtp.tls_cert", "tls_cert and tls_key go together: set both or neither")
	}
	for key, f := range map[string]string{"smtp.tls_cert": s.TLSCert, "smtp.tls_key": s.TLSKey} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				return bad(key, "%v", err)
			}
		}
	}
	return nil
}

// checkListen refuses a listen address serve could not bind for its form:
// host:port with an IP address (or nothing, or a name) and a port number.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if strings.ContainsAny(host, " /%[]") && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: %q is not an IP address or host name", addr, host)
	}
	return nil
}

func (c *Config) validateRelay() error {
	if c.Relay.Address == "" {
		return bad("relay.address", "required: host:port of the downstream mail store")
	}
	if _, _, err := net.SplitHostPort(c.Relay.Address); err != nil {
		return bad("relay.address", "%q is not host:port", c.Relay.Address)
	}
	if !oneOf(c.Relay.Protocol, "smtp", "lmtp") {
		return bad("relay.protocol", "must be smtp or lmtp, not %q", c.Relay.Protocol)
	}
	if c.Outbound.Smarthost != "" {
		if _, _, err := net.SplitHostPort(c.Outbound.Smarthost); err != nil {
			return bad("outbound.smarthost", "%q is not host:port", c.Outbound.Smarthost)
		}
	}
	q := c.Queue
	if q.Workers <= 0 || q.RetryFirst.Duration <= 0 || q.RetryMax.Duration < q.RetryFirst.Duration || q.GiveUp.Duration <= 0 {
		return bad("queue", "workers, retry_first, give_up must be positive and retry_max >= retry_first")
	}
	if q.IdleConnTimeout.Duration <= 0 || q.MaxConnMessages <= 0 {
		return bad("queue", "idle_conn_timeout and max_conn_messages must be positive")
	}
	if q.MinFreeSpace < 0 || q.MaxSpoolInFlight < 0 {
		return bad("queue", "min_free_space and max_spool_in_flight must not be negative (0 turns each off)")
	}
	if q.BodyMemory < 0 {
		return bad("queue.body_memory", "must not be negative")
	}
	return c.validateOutboundLimits()
}

// validateOutboundLimits checks the keys that bound outgoing deliveries.
func (c *Config) validateOutboundLimits() error {
	if c.Queue.TransactionTimeout.Duration <= 0 || c.Queue.MinTransferRate <= 0 {
		return bad("queue", "transaction_timeout and min_transfer_rate must be positive")
	}
	if c.Outbound.Workers <= 0 || c.Outbound.MaxConnectionsPerHost <= 0 {
		return bad("outbound", "workers and max_connections_per_host must be positive")
	}
	return nil
}

func (c *Config) validateDMARC() error {
	d := &c.DMARC
	enums := []struct {
		key, val string
		allowed  []string
	}{
		{"dmarc.mode", d.Mode, []string{"enforce", "monitor"}},
		{"dmarc.quarantine", d.Quarantine, []string{"header", "hold"}},
		{"dmarc.on_temperror", d.OnTempError, []string{"tempfail", "accept"}},
		{"dmarc.org_domain", d.OrgDomain, []string{"treewalk", "psl"}},
		{"dmarc.legacy_pct", d.LegacyPct, []string{"testing", "sample"}},
	}
	for _, e := range enums {
		if !oneOf(e.val, e.allowed...) {
			return bad(e.key, "must be %s, not %q", strings.Join(e.allowed, " or "), e.val)
		}
	}
	if d.Quarantine == "header" {
		name, _, ok := strings.Cut(d.QuarantineHeader, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(d.QuarantineHeader, "\r\n") {
			return bad("dmarc.quarantine_header", "must be one header line \"Name: value\", not %q", d.QuarantineHeader)
		}
	}
	if d.QuarantineExpire.Duration <= 0 {
		return bad("dmarc.quarantine_expire", "must be positive")
	}
	for i := range d.Override {
		if err := d.Override[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

func (o *Override) validate(i int) error {
	key := fmt.Sprintf("dmarc.override[%d]", i)
	o.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o.Domain)), ".")
	if o.Domain == "" && len(o.Network) == 0 {
		return bad(key, "needs a domain, a network, or both")
	}
	for _, n := range o.Network {
		if _, _, err := net.ParseCIDR(n); err != nil && net.ParseIP(n) == nil {
			return bad(key+".network", "%q is not an address or CIDR network", n)
		}
	}
	if !oneOf(o.Action, "none", "quarantine", "reject") {
		return bad(key+".action", "must be none, quarantine or reject, not %q", o.Action)
	}
	if !oneOf(o.Reason, "forwarded", "mailing_list", "trusted_forwarder", "local_policy") {
		return bad(key+".reason", "must be forwarded, mailing_list, trusted_forwarder or local_policy, not %q", o.Reason)
	}
	if o.Expires != "" {
		if _, err := o.ExpiresAt(); err != nil {
			return bad(key+".expires", "%v", err)
		}
	}
	return nil
}

// ExpiresAt parses Expires: an RFC 3339 time or a date (end of that day, UTC).
func (o *Override) ExpiresAt() (time.Time, error) {
	if o.Expires == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, o.Expires); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", o.Expires)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time or YYYY-MM-DD date: %q", o.Expires)
	}
	return t.Add(24 * time.Hour), nil
}

func (c *Config) validateReporting() error {
	r := &c.Reporting
	if r.Enabled || c.FailureReports.Enabled {
		if r.Email == "" {
			return bad("reporting.email", "required while reporting or failure_reports is enabled")
		}
		if _, err := mail.ParseAddress(r.Email); err != nil || !strings.Contains(r.Email, "@") {
			return bad("reporting.email", "%q is not an email address", r.Email)
		}
	}
	if r.Enabled && r.OrgName == "" {
		return bad("reporting.org_name", "required while reporting is enabled")
	}
	if !oneOf(r.PassDisposition, "none", "pass") {
		return bad("reporting.pass_disposition", "%q is neither \"none\" nor \"pass\"", r.PassDisposition)
	}
	if r.Interval.Duration < time.Minute {
		return bad("reporting.interval", "must be at least 1m")
	}
	if r.Smarthost != "" {
		if _, _, err := net.SplitHostPort(r.Smarthost); err != nil {
			return bad("reporting.smarthost", "%q is not host:port", r.Smarthost)
		}
	}
	k := r.DKIM
	if (k.Domain != "" || k.Selector != "" || k.KeyFile != "") && (k.Domain == "" || k.Selector == "" || k.KeyFile == "") {
		return bad("reporting.dkim", "domain, selector and key_file go together")
	}
	return nil
}

// validateARC checks the seal keys: all three or none, and names a key
// record can live under (RFC 6376 §3.6.2.1). The key file itself is loaded
// by the commands (config check included), not here.
func (c *Config) validateARC() error {
	a := &c.ARC
	a.SealDomain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a.SealDomain)), ".")
	a.SealSelector = strings.ToLower(strings.TrimSpace(a.SealSelector))
	if (a.SealDomain != "" || a.SealSelector != "" || a.SealKeyFile != "") &&
		(a.SealDomain == "" || a.SealSelector == "" || a.SealKeyFile == "") {
		return bad("arc", "seal_domain, seal_selector and seal_key_file go together: set all three or none")
	}
	if a.SealDomain != "" && !isDNSName(a.SealDomain) {
		return bad("arc.seal_domain", "%q is not a domain name", a.SealDomain)
	}
	if a.SealSelector != "" && !isDNSName(a.SealSelector) {
		return bad("arc.seal_selector", "%q is not a selector (letters, digits, \"-\", dot-separated)", a.SealSelector)
	}
	if a.SealDomain != "" && !a.Verify {
		return bad("arc.seal_domain", "sealing needs arc.verify = true: the seal's cv= says how the chain validated")
	}
	return a.validateTrusted()
}

// validateTrusted normalizes arc.trusted_sealers to lower-case domains
// without a final dot; trusting sealers without verifying is an error.
func (a *ARC) validateTrusted() error {
	for i, d := range a.TrustedSealers {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if !isDNSName(d) {
			return bad("arc.trusted_sealers", "%q is not a domain name", a.TrustedSealers[i])
		}
		a.TrustedSealers[i] = d
	}
	if len(a.TrustedSealers) > 0 && !a.Verify {
		return bad("arc.trusted_sealers", "needs arc.verify = true: only a verified chain can be trusted")
	}
	return nil
}

// isDNSName accepts dot-separated labels of letters, digits and "-" (and
// "_", which real selectors carry), each 1-63 bytes, 253 in all.
func isDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// isDomain reports a dot-separated name of non-empty labels without
// spaces or address punctuation.
func isDomain(d string) bool {
	if d == "" || strings.ContainsAny(d, " \t@;,") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return false
		}
	}
	return true
}

// validatePostmaster sets the default postmaster address (RFC 5321 §4.5.1)
// or checks the one given.
func (s *SMTP) validatePostmaster() error {
	if s.PostmasterAddress == "" {
		for _, d := range s.AcceptDomains {
			if !strings.HasPrefix(d, ".") {
				s.PostmasterAddress = "postmaster@" + d
				return nil
			}
		}
		return bad("smtp.postmaster_address", "required when every accept_domains entry is a .domain (subdomains only)")
	}
	at := strings.LastIndexByte(s.PostmasterAddress, '@')
	if at <= 0 || !isDomain(s.PostmasterAddress[at+1:]) || strings.ContainsAny(s.PostmasterAddress, " <>\t\r\n") {
		return bad("smtp.postmaster_address", "%q is not an address (local@domain)", s.PostmasterAddress)
	}
	s.PostmasterAddress = s.PostmasterAddress[:at+1] + strings.ToLower(s.PostmasterAddress[at+1:])
	return nil
}
