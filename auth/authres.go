package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrAuthResSyntax wraps every ParseAuthResults error.
var ErrAuthResSyntax = errors.New("auth: malformed Authentication-Results")

// maxAuthResMethods bounds the resinfo count a parsed field may hold.
const maxAuthResMethods = 64

// MethodResult is one resinfo of an Authentication-Results field
// (RFC 8601 §2.2). Keywords are lower-case; values are as written.
type MethodResult struct {
	Method  string // e.g. "spf", "dkim", "dmarc"
	Version string // method-version, usually empty
	Result  string // e.g. "pass"
	Reason  string // reasonspec value, unquoted
	Props   []Property
}

// Property is one propspec: Type.Name=Value, e.g. header.d=example.com.
type Property struct {
	Type, Name, Value string
}

// ParseAuthResults parses the body of an Authentication-Results field (the
// text after the colon, folded or not). For the no-result form
// ("id; none") methods is empty.
func ParseAuthResults(value string) (authservID string, methods []MethodResult, err error) {
	p := &arParser{s: value}
	id, ok := p.authservID()
	if !ok {
		return "", nil, fmt.Errorf("%w: no authserv-id", ErrAuthResSyntax)
	}
	for {
		p.cfws()
		if p.eof() {
			return id, methods, nil
		}
		if !p.consume(';') {
			return "", nil, p.errorf("expected \";\"")
		}
		p.cfws()
		if p.eof() {
			return id, methods, nil // a trailing ";" is common; accept it
		}
		m, err := p.resinfo()
		if err != nil {
			return "", nil, err
		}
		if m.Result == "" { // RFC 8601 §2.2 no-result: "id; none"
			p.cfws()
			if len(methods) == 0 && p.eof() {
				return id, nil, nil
			}
			return "", nil, p.errorf("misplaced \"none\"")
		}
		if len(methods) == maxAuthResMethods {
			return "", nil, p.errorf("too many results")
		}
		methods = append(methods, m)
	}
}

// ForgedResults returns the byte ranges of the Authentication-Results
// fields of a header block that claim authservID (compared without case
// or a trailing dot, after comments and a version are set aside). RFC 8601 §5: a border MTA
// removes them, since only it may speak for its authserv-id. The rest of
// such a field need not parse.
func ForgedResults(header []byte, authservID string) []Range {
	if authservID == "" {
		return nil
	}
	var out []Range
	for _, f := range fieldsNamed(header, "Authentication-Results") {
		p := &arParser{s: f.Value()}
		if id, ok := p.authservID(); ok && sameAuthservID(id, authservID) {
			out = append(out, Range{Start: f.Start, End: f.End})
		}
	}
	return out
}

// sameAuthservID compares two authserv-ids without case and without a
// trailing dot: "mx.example.org." names the same host, and a reader
// that makes domain names absolute would take it for ours.
func sameAuthservID(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// arParser is a cursor over an Authentication-Results field body.
type arParser struct {
	s   string
	pos int
}

func (p *arParser) eof() bool { return p.pos >= len(p.s) }

func (p *arParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *arParser) consume(c byte) bool {
	if p.peek() == c && !p.eof() {
		p.pos++
		return true
	}
	return false
}

func (p *arParser) errorf(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrAuthResSyntax, what, p.pos)
}

// authservID reads authserv-id [CFWS authres-version].
func (p *arParser) authservID() (string, bool) {
	p.cfws()
	id, ok := p.value()
	if !ok || id == "" {
		return "", false
	}
	p.cfws()
	p.digits() // authres-version: only version 1 exists; ignore it
	return id, true
}

func (p *arParser) digits() string {
	start := p.pos
	for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
		p.pos++
	}
	return p.s[start:p.pos]
}

// cfws skips white space, line breaks and (nested) comments.
func (p *arParser) cfws() {
	for !p.eof() {
		switch p.peek() {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '(':
			p.comment()
		default:
			return
		}
	}
}

// comment skips a comment; an unterminated one runs to the end.
func (p *arParser) comment() {
	depth := 0
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '\\':
			p.pos++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return
			}
		}
	}
	p.pos = len(p.s)
}

// value reads an RFC 2045 token or a quoted-string.
func (p *arParser) value() (string, bool) {
	if p.peek() == '"' && !p.eof() {
		return p.quotedString()
	}
	start := p.pos
	for !p.eof() && isTokenChar(p.peek()) {
		p.pos++
	}
	return p.s[start:p.pos], p.pos > start
}

func (p *arParser) quotedString() (string, bool) {
	var b strings.Builder
	p.pos++ // opening quote
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if !p.eof() {
				b.WriteByte(p.s[p.pos])
				p.pos++
			}
		case '\r', '\n':
			// folding inside the quoted-string
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// keyword reads an RFC 8601 Keyword (letters, digits, "-", "_"), lower-cased.
func (p *arParser) keyword() string {
	start := p.pos
	for !p.eof() {
		c := p.peek()
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			break
		}
		p.pos++
	}
	return strings.ToLower(p.s[start:p.pos])
}

// resinfo reads methodspec [reasonspec] *propspec (RFC 8601 §2.2).
func (p *arParser) resinfo() (MethodResult, error) {
	var m MethodResult
	if m.Method = p.keyword(); m.Method == "" {
		return m, p.errorf("expected a method")
	}
	p.cfws()
	if p.consume('/') {
		p.cfws()
		if m.Version = p.digits(); m.Version == "" {
			return m, p.errorf("expected a method version")
		}
		p.cfws()
	}
	if !p.consume('=') {
		if m.Method == "none" {
			return m, nil
		}
		return m, p.errorf("expected \"=\" after the method")
	}
	p.cfws()
	if m.Result = p.keyword(); m.Result == "" {
		return m, p.errorf("expected a result")
	}
	return m, p.properties(&m)
}

// properties reads the reasonspec and propspecs up to ";" or the end.
func (p *arParser) properties(m *MethodResult) error {
	for {
		p.cfws()
		if p.eof() || p.peek() == ';' {
			return nil
		}
		word := p.keyword()
		if word == "" {
			return p.errorf("expected a property")
		}
		p.cfws()
		if word == "reason" && p.consume('=') {
			p.cfws()
			v, ok := p.value()
			if !ok {
				return p.errorf("expected a reason")
			}
			m.Reason = v
			continue
		}
		if !p.consume('.') {
			return p.errorf("expected \".\" in a property")
		}
		p.cfws()
		name := p.keyword()
		p.cfws()
		if name == "" || !p.consume('=') {
			return p.errorf("expected property \"=\"")
		}
		p.cfws()
		v, ok := p.pvalue()
		if !ok {
			return p.errorf("expected a property value")
		}
		m.Props = append(m.Props, Property{Type: word, Name: name, Value: v})
	}
}

// pvalue reads value / [[local-part] "@"] domain-name: a quoted-string
// (possibly followed by "@domain") or a run of characters up to white
// space, a comment or ";".
func (p *arParser) pvalue() (string, bool) {
	var b strings.Builder
	if p.peek() == '"' && !p.eof() {
		q, ok := p.quotedString()
		if !ok {
			return "", false
		}
		b.WriteString(q)
		if p.peek() != '@' {
			return b.String(), true
		}
	}
	start := p.pos
	for !p.eof() && strings.IndexByte(" \t\r\n;()\"", p.peek()) < 0 {
		p.pos++
	}
	b.WriteString(p.s[start:p.pos])
	return b.String(), b.Len() > 0 || p.pos > start
}
