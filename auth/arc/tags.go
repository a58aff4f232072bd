package arc

import (
	"errors"
	"fmt"
	"strings"
)

// Tag list errors (RFC 6376 §3.2).
var (
	ErrTagSyntax    = errors.New("arc: malformed tag list")
	ErrTagDuplicate = errors.New("arc: duplicate tag")
)

// maxTags bounds the tags of one list: real ARC and key records carry a
// dozen at most.
const maxTags = 64

// Tags is a parsed tag list: names in order, values with the surrounding
// whitespace removed (inner folding whitespace is kept: see Compact).
type Tags struct {
	Names  []string
	values map[string]string
}

// Get returns the value of tag name and whether it was present.
func (t Tags) Get(name string) (string, bool) {
	v, ok := t.values[name]
	return v, ok
}

// Value returns the value of tag name, or "" when absent.
func (t Tags) Value(name string) string { return t.values[name] }

// Has reports whether tag name was present.
func (t Tags) Has(name string) bool {
	_, ok := t.values[name]
	return ok
}

// ParseTags parses a tag list (RFC 6376 §3.2): tag=value pairs separated
// by ";", a trailing ";" allowed, folding whitespace around names, "=" and
// values. Tag names are case-sensitive; a tag given twice is an error.
func ParseTags(s string) (Tags, error) {
	t := Tags{values: map[string]string{}}
	specs := strings.Split(s, ";")
	if len(specs) > maxTags+1 {
		return Tags{}, fmt.Errorf("%w: more than %d tags", ErrTagSyntax, maxTags)
	}
	for i, spec := range specs {
		if strings.TrimSpace(spec) == "" && i == len(specs)-1 && i > 0 {
			break // a trailing ";"
		}
		name, value, err := parseTagSpec(spec)
		if err != nil {
			return Tags{}, err
		}
		if _, dup := t.values[name]; dup {
			return Tags{}, fmt.Errorf("%w %q", ErrTagDuplicate, name)
		}
		t.Names = append(t.Names, name)
		t.values[name] = value
	}
	return t, nil
}

// parseTagSpec parses one "name=value" of a tag list.
func parseTagSpec(spec string) (name, value string, err error) {
	name, value, ok := strings.Cut(spec, "=")
	if !ok {
		return "", "", fmt.Errorf("%w: %q has no \"=\"", ErrTagSyntax, trimFWS(spec))
	}
	name, value = trimFWS(name), trimFWS(value)
	if !validTagName(name) {
		return "", "", fmt.Errorf("%w: bad tag name %q", ErrTagSyntax, name)
	}
	if !validTagValue(value) {
		return "", "", fmt.Errorf("%w: bad value for tag %q", ErrTagSyntax, name)
	}
	return name, value, nil
}

// trimFWS removes folding whitespace (SP, HTAB, CR, LF) at both ends.
func trimFWS(s string) string { return strings.Trim(s, " \t\r\n") }

// validTagName: ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_".
func validTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// validTagValue: VALCHARs (%x21-3A / %x3C-7E) separated by folding
// whitespace; a CR must start a CRLF followed by WSP.
func validTagValue(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
		case c == '\r':
			if i+2 >= len(s) || s[i+1] != '\n' || (s[i+2] != ' ' && s[i+2] != '\t') {
				return false
			}
			i++
		case c >= 0x21 && c <= 0x7e && c != ';':
		default:
			return false
		}
	}
	return true
}

// Compact removes every whitespace character, as b= and bh= values and
// key p= values are read (RFC 6376 §3.5, §3.6.1).
func Compact(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
