package queue

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"dmarcgate/resolver"
)

// publicText renders a failure for the sender, in a DSN: the remote
// server's reply as it came, or else what went wrong in words. It never
// carries the error chain of our network stack, which names our relay's
// and our own addresses: outside text says what failed, not where.
func publicText(err error) string {
	var exp *expiredError
	if errors.As(err, &exp) {
		return fmt.Sprintf("gave up after %s in the queue; last error: %s", exp.age.Round(time.Second), publicText(exp.last))
	}
	if se := smtpError(err); se != nil {
		return replyText(se)
	}
	return failureKind(err)
}

// failureKind names the class of a failure that is not an SMTP reply.
func failureKind(err error) string {
	var te *timeoutError
	var ne net.Error
	switch {
	case errors.As(err, &te):
		return "the mail server timed out (" + te.stage + ")"
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "the mail server timed out"
	case errors.Is(err, errHostBusy):
		return "the mail servers were busy"
	case errors.Is(err, errTLS):
		return "TLS negotiation with the mail server failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the mail server refused the connection"
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return "the mail server could not be reached"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return "the mail server closed the connection"
	case resolver.IsTemporary(err) || resolver.IsNotFound(err):
		return "the mail servers could not be looked up in the DNS"
	}
	return "temporary delivery failure"
}
