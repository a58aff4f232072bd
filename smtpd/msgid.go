package smtpd

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// maxLogMessageID bounds the Message-ID in the log line: RFC 5322 §3.6.4
// sets no limit, a client may send kilobytes.
const maxLogMessageID = 200

// messageID returns the first Message-ID field of a raw header block (RFC
// 5322 §3.6.4), unfolded and made fit for a log line: control characters
// and invalid UTF-8 become '?', at most maxLogMessageID bytes. It is ""
// when the header has none. Nothing is parsed: the log shows what came.
func messageID(header []byte) string {
	const name = "message-id:"
	var b strings.Builder
	found := false
	for pos := 0; pos < len(header); {
		end := pos + bytes.IndexByte(header[pos:], '\n') + 1
		if end <= pos {
			end = len(header)
		}
		line := header[pos:end]
		pos = end
		switch {
		case len(bytes.TrimRight(line, "\r\n")) == 0:
			return finishMessageID(&b)
		case found && (line[0] == ' ' || line[0] == '\t'):
			appendLogText(&b, line) // a folded continuation (RFC 5322 §2.2.3)
		case found:
			return finishMessageID(&b)
		case len(line) >= len(name) && strings.EqualFold(string(line[:len(name)]), name):
			found = true
			appendLogText(&b, line[len(name):])
		}
	}
	return finishMessageID(&b)
}

// appendLogText appends p with CR and LF dropped, a tab as a space, other
// control characters and invalid UTF-8 as '?', stopping once the bound is passed.
func appendLogText(b *strings.Builder, p []byte) {
	for len(p) > 0 && b.Len() <= maxLogMessageID {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == '\r' || r == '\n':
		case r == '\t':
			b.WriteByte(' ')
		case r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
		p = p[n:]
	}
}

// finishMessageID trims the value and cuts it at the bound on a rune
// boundary.
func finishMessageID(b *strings.Builder) string {
	s := strings.TrimSpace(b.String())
	if len(s) > maxLogMessageID {
		n := maxLogMessageID
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}
