package config

import (
	"net"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Console is the postmaster's web console, served by serve on Listen.
type Console struct {
	// Listen is host:port; empty disables the console.
	Listen string `toml:"listen"`
	// PasswordHash is the bcrypt hash of the one password every page asks
	// for (`dmarcgate console password` makes it).
	PasswordHash string `toml:"password_hash"`
	// Insecure allows plain HTTP on an address that is not loopback (for
	// a TLS-terminating reverse proxy on another host).
	Insecure bool `toml:"insecure"`
}

// Enabled reports whether serve starts the console.
func (c *Console) Enabled() bool { return c.Listen != "" }

// Loopback reports whether Listen is on a loopback address only, where
// the console may speak plain HTTP.
func (c *Console) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ConsoleTLS reports whether the console serves HTTPS: off loopback, with
// the STARTTLS certificate, unless insecure is set.
func (c *Config) ConsoleTLS() bool {
	return !c.Console.Loopback() && !c.Console.Insecure
}

func (c *Config) validateConsole() error {
	k := &c.Console
	if k.Listen == "" {
		return nil
	}
	if err := checkListen(k.Listen); err != nil {
		return bad("console.listen", "%v", err)
	}
	if k.PasswordHash == "" {
		return bad("console.password_hash", "required when console.listen is set (make one with `dmarcgate console password`)")
	}
	if _, err := bcrypt.Cost([]byte(k.PasswordHash)); err != nil {
		return bad("console.password_hash", "not a bcrypt hash (make one with `dmarcgate console password`)")
	}
	if c.ConsoleTLS() && (c.SMTP.TLSCert == "" || c.SMTP.TLSKey == "") {
		return bad("console.listen", "%q is not a loopback address: the console needs TLS (smtp.tls_cert and smtp.tls_key), or console.insecure = true behind a TLS proxy", k.Listen)
	}
	return nil
}
