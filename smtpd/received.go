package smtpd

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"
)

// receivedHeader builds the trace field of RFC 5321 §4.4, with the TLS
// version and cipher when the session used STARTTLS (as Postfix does).
func receivedHeader(helo string, ip net.IP, by, id string, rcpts []string, tlsState *tls.ConnectionState, utf8 bool, now time.Time) string {
	var b strings.Builder
	b.WriteString("Received: from ")
	b.WriteString(sanitizeToken(helo))
	fmt.Fprintf(&b, " ([%s])\r\n\tby %s (dmarcgate) with %s", ipLiteral(ip), by, protocolName(tlsState != nil, utf8))
	if tlsState != nil {
		fmt.Fprintf(&b, "\r\n\t(using %s with cipher %s)", tls.VersionName(tlsState.Version), tls.CipherSuiteName(tlsState.CipherSuite))
	}
	fmt.Fprintf(&b, " id %s", id)
	if len(rcpts) == 1 && !hasControl(rcpts[0]) {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", quoteAddress(rcpts[0]))
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", now.Format(time.RFC1123Z))
	return b.String()
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
	var b strings.Builder
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '(' || r == ')' || r == ';' || r == '\\' {
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
