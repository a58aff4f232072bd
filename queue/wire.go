package queue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// errBadReply: the server's reply does not follow RFC 5321 §4.2. The
// connection is not trusted after it.
var errBadReply = errors.New("malformed reply from server")

// maxReplyLines bounds a multiline reply (an EHLO lists a few dozen).
const maxReplyLines = 100

// readReply reads one reply (RFC 5321 §4.2): zero or more "ddd-text"
// lines, then "ddd text" or "ddd", all with the same code. The texts are
// joined with "\n". Lines longer than r's buffer are refused.
func readReply(r *bufio.Reader) (code int, msg string, err error) {
	var b strings.Builder
	for i := 0; i < maxReplyLines; i++ {
		line, err := r.ReadSlice('\n')
		switch {
		case err == bufio.ErrBufferFull:
			return 0, "", fmt.Errorf("%w: line longer than %d bytes", errBadReply, r.Size())
		case err == io.EOF && len(line) > 0:
			return 0, "", io.ErrUnexpectedEOF
		case err != nil:
			return 0, "", err
		}
		c, more, text, err := parseReplyLine(line)
		if err != nil {
			return 0, "", err
		}
		if i > 0 && c != code {
			return 0, "", fmt.Errorf("%w: code %d within a reply of code %d", errBadReply, c, code)
		}
		code = c
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(text)
		if !more {
			return code, b.String(), nil
		}
	}
	return 0, "", fmt.Errorf("%w: more than %d lines", errBadReply, maxReplyLines)
}

// parseReplyLine splits one reply line; more is set on a "ddd-" line.
func parseReplyLine(line []byte) (code int, more bool, text []byte, err error) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	line = line[:n]
	if n < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, nil, fmt.Errorf("%w: %q", errBadReply, oneLine(string(line[:min(n, 40)])))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case n == 3:
		return code, false, nil, nil
	case line[3] == ' ':
		return code, false, line[4:], nil
	case line[3] == '-':
		return code, true, line[4:], nil
	}
	return 0, false, nil, fmt.Errorf("%w: %q", errBadReply, oneLine(string(line[:min(n, 40)])))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// replyFrom makes an unexpected reply an error, splitting off the enhanced
// status code (RFC 3463) that starts its text when there is one; RFC 2034
// §4 repeats it on every line, where it is dropped too.
func replyFrom(code int, msg string) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: msg}
	first, rest, ok := strings.Cut(msg, " ")
	if !ok {
		return se
	}
	if enh, ok := parseEnhancedCode(first); ok {
		se.EnhancedCode = enh
		se.Message = strings.ReplaceAll(rest, "\n"+first+" ", "\n")
	}
	return se
}

// parseEnhancedCode reads "class.subject.detail" (RFC 3463 §2).
func parseEnhancedCode(s string) (smtp.EnhancedCode, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return smtp.EnhancedCode{}, false
	}
	var code smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 || len(p) > 3 {
			return smtp.EnhancedCode{}, false
		}
		code[i] = n
	}
	return code, true
}

// dotWriter writes message content for DATA (RFC 5321 §4.5.2): a dot
// starting a line is doubled, a bare LF or a bare CR becomes CRLF, and
// close ends the content with CRLF "." CRLF. For content whose line ends
// are CRLF it produces exactly what net/textproto's DotWriter does, but
// copies runs of ordinary bytes at once instead of one byte at a time.
//
// RFC 5321 §2.3.8 allows CR and LF only together. A bare one must not
// reach the downstream as it came: a server that takes it for a line end
// would see an end of data ("\r.\r\n", "\n.\n") that we did not, and
// read what follows as commands of its own (SMTP smuggling), past the
// DMARC check made here.
type dotWriter struct {
	w     *bufio.Writer
	state int
}

const (
	dotBegin     = iota // nothing written yet
	dotBeginLine        // at the start of a line
	dotData             // in the middle of a line
	dotCR               // just after a CR
)

func (d *dotWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		switch d.state {
		case dotBegin, dotBeginLine:
			if b[n] == '.' {
				d.w.WriteByte('.')
			}
			d.state = dotData
		case dotCR:
			d.w.WriteByte('\n')
			d.state = dotBeginLine
			if b[n] == '\n' {
				n++
			} // else the CR was bare: b[n] begins the next line
		case dotData:
			i := n
			for i < len(b) && b[i] != '\r' && b[i] != '\n' {
				i++
			}
			if _, err := d.w.Write(b[n:i]); err != nil {
				return n, err
			}
			if n = i; n == len(b) {
				break
			}
			if b[n] == '\r' {
				d.state = dotCR
			} else {
				d.w.WriteByte('\r')
				d.state = dotBeginLine
			}
			d.w.WriteByte(b[n])
			n++
		}
	}
	return n, nil
}

// close ends the content; the bufio.Writer keeps any write error for the
// next Flush.
func (d *dotWriter) close() {
	switch d.state {
	case dotBegin, dotData:
		d.w.WriteString("\r\n.\r\n")
	case dotCR:
		d.w.WriteString("\n.\r\n")
	case dotBeginLine:
		d.w.WriteString(".\r\n")
	}
}

// bareLineEnds calls insert(i, c) wherever content p, written after the
// byte last (0 at the start), needs c inserted before p[i] for its line
// ends to be CRLF: LF after a bare CR, CR before a bare LF. It returns the
// last byte of p (last when p is empty). It looks at runs without CR or
// LF only through bytes.IndexByte, and at each byte of p at most once so.
func bareLineEnds(p []byte, last byte, insert func(i int, c byte)) byte {
	// The next CR and LF at or after i, found again only once passed, so
	// that content with many of one and none of the other is still read
	// once (len(p) when there is none).
	nextCR, nextLF := -1, -1
	for i := 0; i < len(p); {
		c := p[i]
		if last == '\r' && c != '\n' {
			insert(i, '\n')
		}
		if c == '\n' && last != '\r' {
			insert(i, '\r')
		}
		if c == '\r' || c == '\n' {
			last = c
			i++
			continue
		}
		if nextCR < i {
			nextCR = indexFrom(p, i, '\r')
		}
		if nextLF < i {
			nextLF = indexFrom(p, i, '\n')
		}
		i = min(nextCR, nextLF)
		last = p[i-1]
	}
	return last
}

// indexFrom is the index of the first c in p at or after i, or len(p).
func indexFrom(p []byte, i int, c byte) int {
	if j := bytes.IndexByte(p[i:], c); j >= 0 {
		return i + j
	}
	return len(p)
}

// canonicalSize counts the bytes written to it as crlfWriter sends them:
// each bare LF or bare CR becomes CRLF, and CRLF is added to content that
// does not end with LF (so an empty message becomes CRLF, as with DATA).
type canonicalSize struct {
	n    int64
	last byte // the last byte written, 0 before any
}

func (c *canonicalSize) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.last = bareLineEnds(p, c.last, func(int, byte) { c.n++ })
	return len(p), nil
}

// total is the size of the content once sent.
func (c *canonicalSize) total() int64 {
	switch c.last {
	case '\n':
		return c.n
	case '\r':
		return c.n + 1
	}
	return c.n + 2
}

// crlfWriter writes message content for BDAT: as dotWriter, but with no
// dot-stuffing and no end marker.
type crlfWriter struct {
	w    *bufio.Writer
	last byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	start := 0
	c.last = bareLineEnds(p, c.last, func(i int, b byte) {
		c.w.Write(p[start:i])
		c.w.WriteByte(b)
		start = i
	})
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// close ends content that does not end with a line break.
func (c *crlfWriter) close() {
	switch c.last {
	case '\n':
	case '\r':
		c.w.WriteString("\n")
	default:
		c.w.WriteString("\r\n")
	}
}
