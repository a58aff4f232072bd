package auth

import (
	"bytes"
	"strings"
)

// Field is one header field of a raw header block (RFC 5322 §2.2).
type Field struct {
	// Name is the field name as written, without surrounding white space.
	Name string
	// Raw is the whole field: name, colon, value, folding and line breaks.
	Raw []byte
	// Start and End locate Raw in the block: block[Start:End] == Raw.
	Start, End int
}

// Range is a byte range [Start, End) of a header block.
type Range struct {
	Start, End int
}

// Value returns the field body after the colon, unfolded (RFC 5322 §2.2.3:
// CRLF before white space removed) and trimmed. It is empty when the field
// has no colon.
func (f Field) Value() string {
	i := bytes.IndexByte(f.Raw, ':')
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(unfold(f.Raw[i+1:]))
}

// unfold removes line breaks, keeping the white space that follows them.
func unfold(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// HeaderFields splits a raw header block into its fields, in order. It stops
// at the first empty line, so a whole message may be passed. Lines may end in
// CRLF or a bare LF. A line that starts with white space continues the
// previous field; a line without a colon is kept as a field whose name is the
// whole line, as DKIM verifiers treat it, so that callers and the DKIM
// library see the same list.
func HeaderFields(header []byte) []Field {
	var fields []Field
	walkFields(header, func(name []byte, start, end int) bool {
		fields = append(fields, Field{Name: string(name), Raw: header[start:end], Start: start, End: end})
		return true
	})
	return fields
}

// walkFields calls fn with each field of header, as HeaderFields lists
// them, until fn returns false: the name (trimmed, as written) and where
// the field lies. It allocates nothing, for the callers that look for one
// name among many fields once per message.
func walkFields(header []byte, fn func(name []byte, start, end int) bool) {
	start := -1 // of the field being read
	pos := 0
	for pos < len(header) {
		end := lineEnd(header, pos)
		line := header[pos:end]
		if isBlankLine(line) {
			break
		}
		if (line[0] != ' ' && line[0] != '\t') || start < 0 {
			if start >= 0 && !fn(fieldName(header[start:pos]), start, pos) {
				return
			}
			start = pos
		}
		pos = end
	}
	if start >= 0 {
		fn(fieldName(header[start:pos]), start, pos)
	}
}

// HeaderEnd returns the length of the header block of msg including the
// empty line that ends it, or -1 when msg holds no empty line.
func HeaderEnd(msg []byte) int {
	pos := 0
	for pos < len(msg) {
		end := lineEnd(msg, pos)
		if isBlankLine(msg[pos:end]) {
			return end
		}
		pos = end
	}
	return -1
}

// lineEnd returns the offset just past the line starting at pos (past its
// LF, or the end of b).
func lineEnd(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(b)
}

func isBlankLine(line []byte) bool {
	return len(line) == 0 || string(line) == "\n" || string(line) == "\r\n"
}

// fieldName is the name of the field starting at raw: what precedes the
// first colon (the whole first line without one), trimmed.
func fieldName(raw []byte) []byte {
	first := raw[:lineEnd(raw, 0)]
	if i := bytes.IndexByte(first, ':'); i >= 0 {
		first = first[:i]
	}
	return bytes.TrimSpace(first)
}

// fieldsNamed returns the fields of header whose name matches name
// case-insensitively (Unicode folding, as the DKIM library matches).
func fieldsNamed(header []byte, name string) []Field {
	var out []Field
	walkFields(header, func(n []byte, start, end int) bool {
		if bytes.EqualFold(n, []byte(name)) {
			out = append(out, Field{Name: string(n), Raw: header[start:end], Start: start, End: end})
		}
		return true
	})
	return out
}

// hasField reports whether header has a field named name.
func hasField(header []byte, name string) bool {
	found := false
	walkFields(header, func(n []byte, _, _ int) bool {
		found = bytes.EqualFold(n, []byte(name))
		return !found
	})
	return found
}
