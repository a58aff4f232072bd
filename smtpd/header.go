package smtpd

import "bytes"

// headerCapture keeps the message's header section (up to the first empty
// line) as it streams past, so that the body is never read twice.
type headerCapture struct {
	buf  []byte
	max  int
	done bool // the empty line was seen
	over bool // the header is larger than max
}

func newHeaderCapture(max int) *headerCapture {
	return &headerCapture{buf: make([]byte, 0, 8192), max: max}
}

func (h *headerCapture) Write(p []byte) (int, error) {
	if h.done || h.over {
		return len(p), nil
	}
	start := len(h.buf) - 3 // the end marker may straddle writes
	if start < 0 {
		start = 0
	}
	h.buf = append(h.buf, p...)
	if i := headerEnd(h.buf, start); i >= 0 {
		h.buf = h.buf[:i]
		h.done = true
	} else if len(h.buf) > h.max {
		h.over = true
	}
	return len(p), nil
}

// Bytes is the header section including the empty line that ends it (or the
// whole message when it has no body).
func (h *headerCapture) Bytes() []byte { return h.buf }

// headerEnd returns the index in b just past the empty line ending the
// header, searching from offset from; -1 when not there yet.
func headerEnd(b []byte, from int) int {
	if bytes.HasPrefix(b, []byte("\r\n")) {
		return 2 // empty header section
	}
	if bytes.HasPrefix(b, []byte("\n")) {
		return 1
	}
	if i := bytes.Index(b[from:], []byte("\r\n\r\n")); i >= 0 {
		return from + i + 4
	}
	if i := bytes.Index(b[from:], []byte("\n\n")); i >= 0 {
		return from + i + 2
	}
	return -1
}
