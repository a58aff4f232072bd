package arc

import (
	"bytes"
	"hash"
)

// BodyHasher canonicalizes a message body as it is written (RFC 6376
// §3.4.3 simple, §3.4.4 relaxed) and hashes the first limit octets of the
// result (l=, §3.5). It reads the body once, keeps no copy of it, and
// accepts any split of the body across Write calls. Lines end in CRLF; a
// bare LF also ends a line, and is hashed as CRLF.
type BodyHasher struct {
	h       hash.Hash
	relaxed bool
	limit   int64 // < 0: no l=

	hashed   int64 // canonical octets hashed
	length   int64 // canonical octets in all, including the unhashed
	empties  int   // empty lines held back: trailing ones are dropped
	midLine  bool  // a line has content so far
	space    bool  // relaxed: whitespace held back within the line
	cr       bool  // a CR ended the last Write
	finished bool
	// buf gathers canonical octets for the hash: a body of short words
	// would otherwise cost one hash.Write (and its call overhead) each.
	buf []byte
}

var (
	crlf  = []byte("\r\n")
	space = []byte(" ")
)

// hashBuffer is how many canonical octets are gathered per hash.Write.
const hashBuffer = 4096

// NewBodyHasher returns a hasher for body canonicalization algorithm
// (Simple or Relaxed) into h; limit < 0 hashes the whole body.
func NewBodyHasher(algorithm string, h hash.Hash, limit int64) *BodyHasher {
	return &BodyHasher{h: h, relaxed: algorithm == Relaxed, limit: limit, buf: make([]byte, 0, hashBuffer)}
}

// Write feeds body octets; it never fails.
func (b *BodyHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if b.cr {
			b.cr = false
			if i != 0 {
				b.content([]byte{'\r'})
			}
		}
		if len(seg) > 0 && seg[len(seg)-1] == '\r' {
			seg = seg[:len(seg)-1]
			b.cr = i < 0 // a CR at the end of p may start the CRLF
		}
		b.content(seg)
		if i < 0 {
			break
		}
		b.endLine()
		p = p[i+1:]
	}
	return n, nil
}

// content takes octets of a line, without its line end.
func (b *BodyHasher) content(p []byte) {
	if !b.relaxed {
		if len(p) > 0 {
			b.startLine()
			b.emit(p)
		}
		return
	}
	tabs := bytes.IndexByte(p, '\t') >= 0 // most lines have none
	for len(p) > 0 {
		ws := bytes.IndexByte(p, ' ')
		if tabs {
			ws = indexSpace(p)
		}
		if ws != 0 {
			word := p
			if ws > 0 {
				word = p[:ws]
			}
			b.startLine()
			if b.space {
				b.emit(space)
				b.space = false
			}
			b.emit(word)
			p = p[len(word):]
			continue
		}
		// A run of whitespace: one SP if more of the line follows.
		b.space = true
		p = p[spaceRun(p):]
	}
}

// indexSpace is the index of the first SP or HTAB in p, or -1.
func indexSpace(p []byte) int {
	for i, c := range p {
		if c == ' ' || c == '\t' {
			return i
		}
	}
	return -1
}

// spaceRun is the length of the run of SP and HTAB that starts p.
func spaceRun(p []byte) int {
	for i, c := range p {
		if c != ' ' && c != '\t' {
			return i
		}
	}
	return len(p)
}

// startLine writes the empty lines held back, now that content follows.
func (b *BodyHasher) startLine() {
	if b.midLine {
		return
	}
	for ; b.empties > 0; b.empties-- {
		b.emit(crlf)
	}
	b.midLine = true
}

func (b *BodyHasher) endLine() {
	if b.midLine {
		b.emit(crlf)
	} else {
		b.empties++
	}
	b.midLine, b.space = false, false
}

// emit hashes canonical octets up to the limit and counts them all.
func (b *BodyHasher) emit(p []byte) {
	b.length += int64(len(p))
	if b.limit >= 0 {
		room := b.limit - b.hashed
		if room <= 0 {
			return
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	b.hashed += int64(len(p))
	if len(b.buf)+len(p) > cap(b.buf) {
		b.flush()
		if len(p) >= cap(b.buf) {
			b.h.Write(p)
			return
		}
	}
	b.buf = append(b.buf, p...)
}

// flush hashes the gathered octets.
func (b *BodyHasher) flush() {
	b.h.Write(b.buf)
	b.buf = b.buf[:0]
}

// finish ends the body: a last line without CRLF gets one, trailing empty
// lines are dropped, and an empty body is one CRLF under simple.
func (b *BodyHasher) finish() {
	if b.finished {
		return
	}
	b.finished = true
	if b.cr {
		b.cr = false
		b.content([]byte{'\r'})
	}
	if b.midLine {
		b.endLine()
	}
	if !b.relaxed && b.length == 0 {
		b.emit(crlf)
	}
	b.flush()
}

// Sum ends the body and returns its hash. Write must not follow.
func (b *BodyHasher) Sum() []byte {
	b.finish()
	return b.h.Sum(nil)
}

// Length ends the body and returns the length of the canonical body; an
// l= larger than it cannot verify (RFC 6376 §3.5: the signer never
// hashes more than the body).
func (b *BodyHasher) Length() int64 {
	b.finish()
	return b.length
}
