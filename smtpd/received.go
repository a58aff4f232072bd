package smtpd

import (
	"crypto/tls"
	"net"
	"strings"
	"time"
	"unicode/utf8"
)

// receivedHeader builds the trace field of RFC 5321 §4.4, with the TLS
// version and cipher when the session used STARTTLS (as Postfix does).
func receivedHeader(helo string, ip net.IP, by, id string, rcpts []string, tlsState *tls.ConnectionState, utf8 bool, now time.Time) string {
	b := make([]byte, 0, 256)
	b = append(b, "Received: from "...)
	b = append(b, sanitizeToken(helo)...)
	b = append(b, " (["...)
	b = append(b, ipLiteral(ip)...)
	b = append(b, "])\r\n\tby "...)
	b = append(b, by...)
	b = append(b, " (dmarcgate) with "...)
	b = append(b, protocolName(tlsState != nil, utf8)...)
	if tlsState != nil {
		b = append(b, "\r\n\t(using "...)
		b = append(b, tls.VersionName(tlsState.Version)...)
		b = append(b, " with cipher "...)
		b = append(b, tls.CipherSuiteName(tlsState.CipherSuite)...)
		b = append(b, ')')
	}
	b = append(b, " id "...)
	b = append(b, id...)
	if len(rcpts) == 1 && !badAddressBytes(rcpts[0]) {
		b = append(b, "\r\n\tfor <"...)
		b = append(b, quoteAddress(rcpts[0])...)
		b = append(b, '>')
	}
	b = append(b, ";\r\n\t"...)
	b = now.AppendFormat(b, time.RFC1123Z)
	b = append(b, "\r\n"...)
	return string(b)
}

// protocolName gives the "with" keyword (RFC 3848, RFC 6531 §3.7.3).
func protocolName(tls, utf8 bool) string {
	p := "ESMTP"
	if utf8 {
		p = "UTF8SMTP"
	}
	if tls {
		p += "S"
	}
	return p
}

func ipLiteral(ip net.IP) string {
	if ip.To4() == nil && ip != nil {
		return "IPv6:" + ip.String()
	}
	return ip.String()
}

// sanitizeToken keeps a client-supplied word printable and free of
// characters that would break the header's structure.
func sanitizeToken(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) <= 255 && !strings.ContainsFunc(s, func(r rune) bool { return breaksToken(r) || r == utf8.RuneError }) {
		return s // the usual case: nothing to change (an invalid byte would become U+FFFD)
	}
	var b strings.Builder
	for _, r := range s {
		if breaksToken(r) {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > 255 {
		n := 255
		for n > 0 && !utf8.RuneStart(out[n]) {
			n--
		}
		out = out[:n]
	}
	return out
}

// breaksToken: r is unprintable or would end the token or the comment.
func breaksToken(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '(' || r == ')' || r == ';' || r == '\\'
}
