package smtpd

import (
	"strings"

	"github.com/emersion/go-smtp"
)

// go-smtp writes some replies itself, with its own texts; Reply (the
// Server.Reply hook of our patched go-smtp) gives them ours. Each is
// recognised by go-smtp's code and text, so a go-smtp whose texts differ
// leaves them as they are (the reply tests then fail).
var (
	ecNone = smtp.NoEnhancedCode
	ec200  = smtp.EnhancedCode{2, 0, 0}
)

// fixedReplies maps go-smtp's fixed replies to ours. RFC 5321 §4.3.2 has
// 503 for a command out of sequence, where go-smtp says 502 (not
// implemented); RFC 3207 §4 has 454 for a failed TLS negotiation.
var fixedReplies = map[string]*smtp.SMTPError{
	"250 Session reset":                    reply(250, 2, 0, 0, "OK"),
	"250 I have successfully done nothing": reply(250, 2, 0, 0, "OK"),
	"354 Go ahead. End your data with <CR><LF>.<CR><LF>": {Code: 354, EnhancedCode: ecNone,
		Message: "End data with <CR><LF>.<CR><LF>"},
	"502 Missing MAIL FROM command.": reply(503, 5, 5, 1, "send MAIL first"),
	"502 Missing RCPT TO command.":   reply(503, 5, 5, 1, "send RCPT first"),
	"550 Handshake error":            reply(454, 4, 7, 0, "TLS not available: the handshake failed"),
}

// Reply is go-smtp's Server.Reply hook.
func (s *Server) Reply(c *smtp.Conn, code int, ec smtp.EnhancedCode, text []string) (int, smtp.EnhancedCode, []string) {
	if len(text) == 0 {
		return code, ec, text
	}
	if r, ok := fixedReplies[replyKey(code, text)]; ok {
		return r.Code, r.EnhancedCode, []string{r.Message}
	}
	first := text[0]
	host := s.Config.Hostname
	switch {
	case code == 250 && ec == ecNone && strings.HasPrefix(first, "Hello "):
		// RFC 5321 §4.1.1.1: the EHLO reply begins with our domain.
		text = append([]string{host + " " + first}, text[1:]...)
	case code == 250 && ec == ec200 && strings.HasPrefix(first, "Hello ") && len(text) == 1:
		// HELO: "250" SP Domain [SP text] (§4.1.1.1), no enhanced code
		// (RFC 2034 §3 does not extend HELO).
		return 250, ecNone, []string{host + " " + first}
	case code == 250 && strings.HasPrefix(first, "Roger, accepting mail from "):
		// RFC 3463 §3.2: X.1.0 other address status, for the sender.
		return 250, smtp.EnhancedCode{2, 1, 0}, []string{"sender " + strings.TrimPrefix(first, "Roger, accepting mail from ") + " OK"}
	case code == 250 && strings.HasPrefix(first, "I'll make sure ") && strings.HasSuffix(first, " gets this"):
		// RFC 3463 §3.2: X.1.5 destination address valid.
		addr := strings.TrimSuffix(strings.TrimPrefix(first, "I'll make sure "), " gets this")
		return 250, smtp.EnhancedCode{2, 1, 5}, []string{"recipient " + addr + " OK"}
	case code == 221:
		return 221, ec200, []string{host + " closing connection"}
	case code == 421 && ec == (smtp.EnhancedCode{4, 4, 2}):
		if s.shutting.Load() {
			return replyShutdown.Code, replyShutdown.EnhancedCode, []string{host + " " + replyShutdown.Message}
		}
		return 421, ec, []string{host + " idle too long, closing connection"}
	case code == 552 && ec == (smtp.EnhancedCode{5, 3, 4}) && first == "Max message size exceeded":
		// go-smtp's own, for a BDAT chunk past the limit (MAIL's SIZE=
		// is checked by session.Mail).
		s.refusedChunk(c)
		return replyTooBig.Code, replyTooBig.EnhancedCode, []string{replyTooBig.Message}
	case code == 452 && ec == (smtp.EnhancedCode{4, 5, 3}):
		s.refusedRcpt(c, "too_many", "")
		return code, ec, []string{replyTooManyRcpts.Message}
	}
	return code, ec, text
}

// replyKey is a one-line reply's code and text, without the enhanced code.
func replyKey(code int, text []string) string {
	if len(text) != 1 {
		return ""
	}
	return itoa3(code) + " " + text[0]
}

func itoa3(code int) string {
	return string([]byte{byte('0' + code/100%10), byte('0' + code/10%10), byte('0' + code%10)})
}
