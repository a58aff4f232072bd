package queue

import (
	"log/slog"
	"strconv"

	"dmarcgate/internal/logattr"
)

// The delivery line names what a postmaster needs to follow a message
// downstream: the recipients, the address connected to (or the last one
// tried), and the server's own words, whose 250 carries its queue id.
const (
	maxLogRcpts = 20  // recipients listed in one line
	maxLogReply = 300 // bytes of a reply or error kept
)

// okReply reads a reply that must be 2xx and returns it whole, code and
// all, as the log shows it ("250 2.0.0 Ok: queued as 4XyZ").
func (s *session) okReply() (string, error) {
	code, msg, err := readReply(s.r)
	if err != nil {
		return "", s.named(err) // as replyText does
	}
	if code/100 != 2 {
		return "", replyFrom(code, msg)
	}
	return strconv.Itoa(code) + " " + msg, nil
}

// attemptAttrs describes the results of one attempt: the recipients, those
// that failed when not all did, and the reply, or the error when the
// server gave no reply (could not connect, timed out).
func attemptAttrs(res []result) []slog.Attr {
	rcpts := make([]string, 0, min(len(res), maxLogRcpts))
	var failed []string
	var reply, errText string
	for _, r := range res {
		if len(rcpts) < maxLogRcpts {
			rcpts = append(rcpts, r.rcpt)
		}
		switch {
		case r.err == nil:
			if reply == "" {
				reply = r.reply
			}
		case smtpError(r.err) != nil:
			failed = append(failed, r.rcpt)
			reply = replyText(r.err) // a refusal says more than a 250
		default:
			failed = append(failed, r.rcpt)
			errText = replyText(r.err)
		}
	}
	attrs := []slog.Attr{logattr.Strings("to", rcpts)}
	if len(failed) > 0 && len(failed) < len(res) {
		attrs = append(attrs, logattr.Strings("failed", failed[:min(len(failed), maxLogRcpts)]))
	}
	if reply != "" {
		attrs = append(attrs, slog.String("reply", logText(reply)))
	}
	if errText != "" {
		attrs = append(attrs, slog.String("err", logText(errText)))
	}
	return attrs
}

// logText is remote text made one bounded line.
func logText(s string) string {
	s = oneLine(s)
	if len(s) > maxLogReply {
		s = s[:maxLogReply] + "..."
	}
	return s
}
