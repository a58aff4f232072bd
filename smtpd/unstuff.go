package smtpd

import "bytes"

// The states of DATA's end-of-data and dot-stuffing machine (RFC 5321
// §4.5.2). They are go-smtp's (and net/textproto's) states, and unstuffer
// moves between them exactly as go-smtp's reader does, quirks included: a
// line begins only after CR LF, and a "." CR at the start of a line that is
// not followed by LF loses both. The two readers must agree byte for byte,
// or a client would see a different end of data on a plain connection than
// on a TLS one.
const (
	stateBeginLine = iota // the zero value: DATA starts at a line's start
	stateDot              // "." at the start of a line, held back
	stateDotCR            // "." CR at the start of a line, held back
	stateCR               // CR, possibly ending a line
	stateData             // within a line
	stateEOF              // after the "." CR LF line
)

// unstuffer turns the text of DATA into the message: it drops the dot of
// a dot-stuffed line and finds the end-of-data line. Unlike go-smtp's
// reader it looks at a byte at a time only at CRs and line starts, and
// hands the message on in runs.
type unstuffer struct {
	state int
	emit  func([]byte) // a run of message bytes; p is reused afterwards
}

// feed consumes p up to the end of the end-of-data line, or all of it.
// It returns how much it consumed and whether that included the end.
func (u *unstuffer) feed(p []byte) (int, bool) {
	run, i := 0, 0 // p[run:i] is message not yet emitted
	for i < len(p) {
		switch u.state {
		case stateData:
			j := bytes.IndexByte(p[i:], '\r')
			if j < 0 {
				i = len(p)
				continue
			}
			i += j + 1
			u.state = stateCR
		case stateCR:
			if p[i] == '\n' {
				u.state = stateBeginLine
			} else {
				u.state = stateData
			}
			i++
		case stateBeginLine:
			switch p[i] {
			case '.':
				u.flush(p[run:i])
				run = i + 1
				u.state = stateDot
			case '\r':
				u.state = stateCR
			default:
				u.state = stateData
			}
			i++
		case stateDot:
			if p[i] == '\r' {
				run = i + 1
				u.state = stateDotCR
			} else {
				u.state = stateData
			}
			i++
		case stateDotCR:
			i++
			if p[i-1] == '\n' {
				u.state = stateEOF
				return i, true
			}
			u.state = stateData
		case stateEOF:
			return i, true
		}
	}
	u.flush(p[run:i])
	return i, u.state == stateEOF
}

func (u *unstuffer) flush(b []byte) {
	if len(b) > 0 {
		u.emit(b)
	}
}
