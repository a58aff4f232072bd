package auth

import (
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// Sentinel errors of ParseFrom. RFC 9989 §4.4 needs exactly one author
// domain; a message without one cannot be evaluated.
var (
	ErrFromMissing  = errors.New("auth: no From header field")
	ErrFromMultiple = errors.New("auth: more than one From header field or author mailbox")
	ErrFromInvalid  = errors.New("auth: From header field has no usable mailbox with a domain")
)

// maxFromLen bounds the field we hand to the address parser.
const maxFromLen = 16 << 10

// fromParser decodes RFC 2047 encoded words in display names and never
// fails on an unknown charset: the display name does not matter here, the
// addr-spec does.
var fromParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, input io.Reader) (io.Reader, error) { return input, nil },
}}

// ParseFrom finds the RFC5322.From author of a raw header block (the bytes
// up to and including the empty line; a whole message works too).
//
// RFC 9989 (Extract Author Domain): exactly one author domain is needed. A
// message with no From field, or several (RFC 5322 §3.6 allows one), gives
// ErrFromMissing or ErrFromMultiple. A field with several mailboxes is
// accepted only when they all share one domain (then addr is the first);
// a group (RFC 6854) counts its mailboxes. The domain comes back lower-case,
// without a trailing dot, U-labels converted to A-labels (RFC 5890
// §2.3.2.1); addr is the addr-spec with that domain.
func ParseFrom(header []byte) (domain string, addr string, err error) {
	froms := fieldsNamed(header, "From")
	switch {
	case len(froms) == 0:
		return "", "", ErrFromMissing
	case len(froms) > 1:
		return "", "", ErrFromMultiple
	}
	value := froms[0].Value()
	if len(value) > maxFromLen {
		return "", "", ErrFromInvalid
	}
	boxes, err := fromMailboxes(value)
	if err != nil {
		return "", "", err
	}
	for i, b := range boxes {
		d, err := normalizeDomain(b.domain)
		if err != nil || b.local == "" {
			return "", "", ErrFromInvalid
		}
		if i == 0 {
			domain, addr = d, quoteLocal(b.local)+"@"+d
		} else if d != domain {
			return "", "", ErrFromMultiple
		}
	}
	return domain, addr, nil
}

type mailbox struct{ local, domain string }

// fromMailboxes returns the mailboxes of a From field body. net/mail
// handles the RFC 5322 grammar; when it refuses (common in the wild:
// unquoted "@" in display names, trailing dots), a lenient reading that
// trusts only the angle-addr takes over.
func fromMailboxes(value string) ([]mailbox, error) {
	list, perr := fromParser.ParseList(value)
	if perr != nil {
		local, domain, err := lenientMailbox(value)
		if err != nil {
			return nil, err
		}
		return []mailbox{{local, domain}}, nil
	}
	if len(list) == 0 {
		return nil, ErrFromInvalid
	}
	boxes := make([]mailbox, 0, len(list))
	for _, a := range list {
		local, domain, err := splitAddr(a.Address)
		if err != nil {
			return nil, err
		}
		boxes = append(boxes, mailbox{local, domain})
	}
	return boxes, nil
}

// lenientMailbox extracts the addr-spec from a field body that net/mail
// rejected: the content of the one angle-addr, or the whole body without
// comments when there is none.
func lenientMailbox(value string) (string, string, error) {
	open, closing := strings.Count(value, "<"), strings.Count(value, ">")
	var spec string
	switch {
	case open == 1 && closing == 1:
		i, j := strings.IndexByte(value, '<'), strings.IndexByte(value, '>')
		if j < i {
			return "", "", ErrFromInvalid
		}
		// Outside the one angle-addr only a display name may stand: a list
		// separator before it, or an address after it, is a second mailbox
		// that a reader would see.
		before := unquotedPart(stripComments(value[:i]))
		after := unquotedPart(stripComments(value[j+1:]))
		if strings.ContainsAny(before, ",;") || strings.ContainsAny(after, "@,;") {
			return "", "", ErrFromMultiple
		}
		spec = strings.TrimSpace(stripComments(value[i+1 : j]))
	case open > 1 && closing > 1:
		return "", "", ErrFromMultiple
	case open == 0 && closing == 0:
		spec = strings.TrimSpace(stripComments(value))
	default:
		return "", "", ErrFromInvalid
	}
	if strings.Count(unquotedPart(spec), "@") > 1 || strings.ContainsAny(unquotedPart(spec), ",;") {
		return "", "", ErrFromMultiple
	}
	if strings.ContainsAny(unquotedPart(spec), " \t") {
		return "", "", ErrFromInvalid
	}
	local, domain, err := splitAddr(spec)
	if err != nil {
		return "", "", err
	}
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		local = strings.ReplaceAll(local[1:len(local)-1], `\`, "")
	}
	return local, domain, nil
}

// splitAddr splits an addr-spec at its last "@" (a quoted local part may
// hold another one).
func splitAddr(a string) (string, string, error) {
	i := strings.LastIndexByte(a, '@')
	if i <= 0 || i == len(a)-1 {
		return "", "", ErrFromInvalid
	}
	return a[:i], a[i+1:], nil
}

// stripComments removes RFC 5322 comments, which may nest, outside quoted
// strings.
func stripComments(s string) string {
	var sb strings.Builder
	depth, quoted, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case quoted:
			if c == '"' {
				quoted = false
			}
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// unquotedPart returns s with quoted strings removed, for counting
// separators that matter only outside quotes.
func unquotedPart(s string) string {
	var sb strings.Builder
	quoted, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// quoteLocal re-quotes a local part that is not a dot-atom (RFC 5322
// §3.4.1), since net/mail hands it back unquoted.
func quoteLocal(local string) string {
	if isDotAtom(local) {
		return local
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c == '"' || c == '\\' {
			sb.WriteByte('\\')
		}
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		sb.WriteByte(c)
	}
	sb.WriteByte('"')
	return sb.String()
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// isAtext reports RFC 5322 atext, with UTF-8 bytes allowed (RFC 6532).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
