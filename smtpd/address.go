package smtpd

import (
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

// splitAddress returns the local part and the lower-cased domain.
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
}

// badAddressBytes reports an address no SMTP grammar allows and no header
// or log line may carry: a control character or DEL (RFC 5321 §4.1.2
// qtextSMTP and quoted-pairSMTP start at space), or bytes that are not
// UTF-8 (RFC 6531 §3.3).
func badAddressBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return !utf8.ValidString(s)
}

// RFC 5321 §4.5.3.1.1-3: the longest local part, domain and path (the
// address with its angle brackets) a server must take, in octets.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxPath      = 256
)

// checkPath refuses, at MAIL or RCPT, an address the queue could not take
// at the end of DATA (queue.checkAddress): bytes no grammar allows, angle
// brackets (a quoted local part may hold them; no header or command line
// we write may), and lengths over RFC 5321's limits, counted on the
// address as we write it on the wire. A sender's local part may pass 64
// octets: SRS and VERP return paths of forwarded and list mail do, and
// §4.5.3.1 asks servers to take longer objects where they can; the path
// limit still holds.
func checkPath(addr string, sender bool) *smtp.SMTPError {
	if badAddressBytes(addr) || strings.ContainsAny(addr, "<>") {
		return replyBadAddress
	}
	wire := quoteAddress(addr)
	local, domain := splitAddress(wire)
	if (!sender && len(local) > maxLocalPart) || len(domain) > maxDomain || len(wire)+2 > maxPath {
		return replyAddressTooLong
	}
	return nil
}

// routedAddress reports a local part that names a further route: the
// percent hack (bob%victim.test@), a UUCP bang path (victim.test!bob@) or
// a quoted local part holding an @ ("bob@victim.test"@). RFC 5321 §3.6.1
// and RFC 1123 §5.2.16 leave them to the receiving host; a downstream
// that honours them for mail the gateway relays is an open relay.
func routedAddress(addr string) bool {
	local, _ := splitAddress(addr)
	return strings.ContainsAny(local, "%!@")
}

// quoteAddress re-quotes a local part that go-smtp handed over unquoted, so the
// address is valid on the wire again (RFC 5321 §4.1.2).
func quoteAddress(addr string) string {
	if addr == "" {
		return ""
	}
	local, _ := splitAddress(addr)
	if isDotAtom(local) {
		return addr
	}
	domain := addr[len(local):]
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ { // bytes: nothing is re-encoded
		if c := local[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	b.WriteString(domain)
	return b.String()
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= 0x80 { // SMTPUTF8 local parts are atoms too (RFC 6531)
			continue
		}
		if !isAtext(byte(r)) && r != '.' {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
