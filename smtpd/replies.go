package smtpd

import (
	"fmt"

	"github.com/emersion/go-smtp"
)

// The one table of SMTP replies this package gives. The client sees a short
// reason; the log line carries the cause. Anything returned to go-smtp that
// is not one of these would be answered as a raw 554, so every error path
// ends here.
var (
	replyRelayDenied   = reply(550, 5, 7, 1, "relay access denied: we do not accept mail for that domain")
	replyRoutedAddress = reply(550, 5, 7, 1, "relay access denied: routing in the local part (%, !, @) is not accepted")
	replyUnknownUser   = reply(550, 5, 1, 1, "no such user here")
	replyVerifyDown    = reply(451, 4, 4, 3, "recipient verification is unavailable, try again later")
	replyTooManyRcpts  = reply(452, 4, 5, 3, "too many recipients")
	replyTooBig        = reply(552, 5, 3, 4, "message size exceeds the fixed maximum message size")
	replyHeaderTooBig  = reply(552, 5, 3, 4, "message header exceeds the maximum header size")
	replyBadAddress    = reply(553, 5, 1, 3, "address syntax not accepted")
	// RFC 5321 §4.5.3.1.10 suggests 501 for a path too long.
	replyAddressTooLong = reply(501, 5, 1, 3, "address too long (RFC 5321 §4.5.3.1: local part 64, domain 255, path 256 octets)")
	replyInternal       = reply(451, 4, 3, 0, "local error in processing, try again later")
	replyTooManyConns   = "421 4.7.0 too many connections, try again later\r\n"
	replyTooManyConnsIP = "421 4.7.0 too many connections from your address, try again later\r\n"
	replyReadTimeout    = reply(421, 4, 4, 2, "idle too long, closing connection")
	replyTruncated      = reply(451, 4, 3, 0, "message transfer incomplete")
	// RFC 3463 §3.4: X.3.1 mail system full.
	replyNoStorage = reply(452, 4, 3, 1, "insufficient system storage, try again later")
	replyBareCR    = reply(550, 5, 6, 0, "message header contains a bare CR (RFC 5322 §2.2)")
	// RFC 3463 §3.5: X.3.2 system not accepting network messages.
	replyShutdown = reply(421, 4, 3, 2, "service shutting down, try again later")
	// RFC 5321 §4.1.1.4: only CR LF "." CR LF ends the data; a client that
	// ended it with bare LFs waits for a reply that would never come.
	replyBareLFEnd = reply(554, 5, 5, 2, `no end of data seen after a line ended by a bare LF: end the message with <CR><LF>.<CR><LF> (RFC 5321 §4.1.1.4)`)
)

func reply(code, a, b, c int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{a, b, c}, Message: msg}
}

// RFC 7372 §3.2: X.7.26 multiple authentication checks failed (DMARC).
func replyDMARCReject(fromDomain, why string) *smtp.SMTPError {
	return reply(550, 5, 7, 26, fmt.Sprintf("rejected by the DMARC policy of %s: %s", fromDomain, why))
}

func replyDMARCTempFail(fromDomain string) *smtp.SMTPError {
	return reply(451, 4, 7, 0, fmt.Sprintf("DMARC evaluation for %s failed temporarily (DNS), try again later", fromDomain))
}

// RFC 9989 §5.7.3 lets a receiver reject mail whose RFC5322.From cannot be
// used for DMARC; RFC 5322 §3.6 requires exactly one From.
func replyBadFrom(cause string) *smtp.SMTPError {
	return reply(550, 5, 7, 1, "message must have exactly one From header with one address and a domain ("+cause+"); DMARC (RFC 9989) cannot be applied otherwise")
}

func replyAccepted(id string) *smtp.SMTPError {
	return reply(250, 2, 0, 0, "OK queued as "+id)
}
