package resolver

import (
	"context"
	"errors"
	"net"
	"os"

	"github.com/miekg/dns"
)

// outcome classifies the result of one lookup; it is also the metrics label.
type outcome int

const (
	outcomeSuccess outcome = iota
	outcomeNXDomain
	outcomeNoData
	outcomeTemporary
	outcomePermanent
)

func (o outcome) String() string {
	switch o {
	case outcomeSuccess:
		return "success"
	case outcomeNXDomain:
		return "nxdomain"
	case outcomeNoData:
		return "nodata"
	case outcomeTemporary:
		return "temporary"
	default:
		return "permanent"
	}
}

// failure is a lookup's negative result, kept apart from any caller so
// that each caller of a merged or cached query gets its own error value.
type failure struct {
	kind    outcome
	msg     string
	server  string
	timeout bool
}

// dnsError builds the error callers see. It is a *net.DNSError, never
// wrapped, because blitiri spf reads IsNotFound through a type assertion;
// UnwrapErr carries our sentinel for errors.Is.
func (f *failure) dnsError(name string) *net.DNSError {
	e := &net.DNSError{Err: f.msg, Name: name, Server: f.server, IsTimeout: f.timeout}
	switch f.kind {
	case outcomeNXDomain:
		e.IsNotFound, e.UnwrapErr = true, ErrNXDomain
	case outcomeNoData:
		e.IsNotFound, e.UnwrapErr = true, ErrNoData
	case outcomeTemporary:
		e.IsTemporary, e.UnwrapErr = true, ErrTemporary
	default:
		e.UnwrapErr = ErrPermanent
	}
	return e
}

// rcodeFailure classifies an answer's RCODE other than NOERROR/NXDOMAIN:
// SERVFAIL and REFUSED may pass (RFC 1035 §4.1.1), anything else will not.
func rcodeFailure(rcode int, server string) *failure {
	msg := "server answered " + dns.RcodeToString[rcode]
	if msg == "server answered " {
		msg = "server answered an unknown RCODE"
	}
	switch rcode {
	case dns.RcodeServerFailure, dns.RcodeRefused:
		return &failure{kind: outcomeTemporary, msg: msg, server: server}
	default:
		return &failure{kind: outcomePermanent, msg: msg, server: server}
	}
}

// exchangeFailure classifies an error from sending a query or reading its
// answer: network trouble and timeouts are temporary, an answer that does
// not parse is permanent.
func exchangeFailure(err error, server string) *failure {
	var dnsErr *dns.Error
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return &failure{kind: outcomeTemporary, msg: "i/o timeout", server: server, timeout: true}
	case errors.As(err, &netErr):
		return &failure{kind: outcomeTemporary, msg: err.Error(), server: server, timeout: netErr.Timeout()}
	case errors.As(err, &dnsErr):
		return &failure{kind: outcomePermanent, msg: "malformed answer: " + err.Error(), server: server}
	default:
		return &failure{kind: outcomeTemporary, msg: err.Error(), server: server}
	}
}

// contextFailure is what a caller gets when its own context ends first.
func contextFailure(err error) *failure {
	return &failure{kind: outcomeTemporary, msg: err.Error(), timeout: errors.Is(err, context.DeadlineExceeded)}
}
