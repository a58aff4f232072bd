package arc

import (
	"bytes"
	"fmt"
	"strings"
)

// Canonicalization algorithms (RFC 6376 §3.4), as named in c=.
const (
	Simple  = "simple"
	Relaxed = "relaxed"
)

// ParseCanon reads a c= value "header[/body]"; the body algorithm defaults
// to simple (RFC 6376 §3.5), and an absent c= means simple/simple.
func ParseCanon(c string) (header, body string, err error) {
	if c == "" {
		return Simple, Simple, nil
	}
	header, body, ok := strings.Cut(c, "/")
	if !ok {
		body = Simple
	}
	if !validCanon(header) || !validCanon(body) {
		return "", "", fmt.Errorf("arc: unknown canonicalization %q", c)
	}
	return header, body, nil
}

func validCanon(s string) bool { return s == Simple || s == Relaxed }

// CanonHeader canonicalizes one header field, given as it appears in the
// message: name, colon, value and its folding, with or without the final
// CRLF. The result ends in CRLF.
//
// simple (RFC 6376 §3.4.1) changes nothing; relaxed (§3.4.2) lowercases the
// name, unfolds, reduces whitespace runs to one SP, and removes whitespace
// at the end of the value and around the colon.
func CanonHeader(field []byte, algorithm string) []byte {
	field = bytes.TrimSuffix(field, []byte("\r\n"))
	if algorithm != Relaxed {
		out := make([]byte, 0, len(field)+2)
		return append(append(out, field...), '\r', '\n')
	}
	name, value, _ := bytes.Cut(field, []byte(":"))
	out := make([]byte, 0, len(field)+2)
	for _, c := range bytes.TrimRight(name, " \t") {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	out = append(out, ':')
	return append(appendRelaxedValue(out, value), '\r', '\n')
}

// appendRelaxedValue appends value unfolded, with whitespace runs reduced
// to one SP and none at either end.
func appendRelaxedValue(out, value []byte) []byte {
	space := false
	started := false
	for _, c := range value {
		switch c {
		case '\r', '\n':
			// Unfolding: CRLF before WSP is deleted (RFC 5322 §2.2.3).
		case ' ', '\t':
			space = true
		default:
			if space && started {
				out = append(out, ' ')
			}
			space, started = false, true
			out = append(out, c)
		}
	}
	return out
}

// StripSignature returns a copy of a signature header field (ARC-Seal,
// ARC-Message-Signature, DKIM-Signature) with the value of its b= tag
// deleted, as it enters its own signature (RFC 6376 §3.7, RFC 8617 §4.1).
// Tags are found on the raw text, so bh= and the rest stay byte-identical.
func StripSignature(field []byte) []byte {
	crlf := bytes.HasSuffix(field, []byte("\r\n"))
	field = bytes.TrimSuffix(field, []byte("\r\n"))
	colon := bytes.IndexByte(field, ':')
	if colon < 0 {
		return append([]byte(nil), field...)
	}
	out := make([]byte, 0, len(field)+2)
	out = append(out, field[:colon+1]...)
	rest := field[colon+1:]
	for len(rest) > 0 {
		spec, tail, more := bytes.Cut(rest, []byte(";"))
		name, _, hasEq := bytes.Cut(spec, []byte("="))
		if hasEq && string(bytes.Trim(name, " \t\r\n")) == "b" {
			eq := bytes.IndexByte(spec, '=')
			out = append(out, spec[:eq+1]...)
		} else {
			out = append(out, spec...)
		}
		if more {
			out = append(out, ';')
		}
		rest = tail
	}
	if crlf {
		out = append(out, '\r', '\n')
	}
	return out
}
