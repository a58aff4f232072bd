package auth

import (
	"net"
	"strings"

	"dmarcgate/policy"
)

// Results is everything one Authentication-Results field reports.
type Results struct {
	AuthservID string
	SPF        SPFOutcome
	DKIM       []DKIMOutcome
	DMARC      policy.Decision
	FromDomain string
	// Policy is the discovered record, for the sp= shown in the dmarc
	// comment; nil when none applies.
	Policy *policy.Discovery
	// ARC is the chain's result; nil when ARC is not verified.
	ARC *ARCResult
}

// Folding: lines stay under lineWidth where words allow; a value longer
// than maxValueLen is cut, so no line can approach the 998 limit of
// RFC 5322 §2.1.1.
const (
	lineWidth   = 78
	maxValueLen = 200
)

// Header returns the whole Authentication-Results field (RFC 8601 §2.2),
// CRLF-terminated and folded with CRLF TAB: one method per line, spf, then
// each dkim signature (dkim=none when there is none), then dmarc. The dmarc
// comment always carries p= (the policy in force, "none" when no policy
// applies), sp= when the record sets it, and dis= (the disposition). Every
// value from the message or DNS is either an RFC 8601 token or quoted and
// stripped of control characters.
func (r Results) Header() string {
	var methods [][]string
	if m := r.spfWords(); m != nil {
		methods = append(methods, m)
	}
	methods = append(methods, r.boundedDKIMWords()...)
	if m := r.arcWords(); m != nil {
		methods = append(methods, m)
	}
	if m := r.dmarcWords(); m != nil {
		methods = append(methods, m)
	}
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(pvalue(r.AuthservID))
	if len(methods) == 0 {
		b.WriteString("; none\r\n") // RFC 8601 §2.2 no-result
		return b.String()
	}
	for _, words := range methods {
		b.WriteString(";\r\n\t")
		col := 8
		for j, w := range words {
			if j > 0 {
				if col+1+len(w) > lineWidth {
					b.WriteString("\r\n\t")
					col = 8
				} else {
					b.WriteByte(' ')
					col++
				}
			}
			b.WriteString(w)
			col += len(w)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func (r Results) spfWords() []string {
	o := r.SPF
	if o.Result == "" {
		return nil
	}
	words := []string{"spf=" + keyword(string(o.Result))}
	if o.Err != "" && (o.Result == policy.TempError || o.Result == policy.PermError) {
		words = append(words, "reason="+quoted(withoutServers(o.Err)))
	}
	if o.Domain != "" {
		prop := "smtp.mailfrom="
		if o.Scope == ScopeHelo {
			prop = "smtp.helo="
		}
		words = append(words, prop+pvalue(o.Domain))
	}
	return words
}

func (r Results) dkimWords() [][]string {
	if len(r.DKIM) == 0 {
		return [][]string{{"dkim=none"}}
	}
	var out [][]string
	for _, o := range r.DKIM {
		words := []string{"dkim=" + keyword(string(o.Result))}
		if o.Reason != "" && o.Result != policy.Pass {
			words = append(words, "reason="+quoted(withoutServers(o.Reason)))
		}
		for _, p := range [][2]string{
			{"header.d=", o.Domain}, {"header.s=", o.Selector},
			{"header.a=", o.Algorithm}, {"header.b=", o.HeaderB},
		} {
			if p[1] != "" {
				words = append(words, p[0]+pvalue(p[1]))
			}
		}
		out = append(out, words)
	}
	return out
}

func (r Results) dmarcWords() []string {
	d := r.DMARC
	if d.Result == "" {
		return nil
	}
	comment := "(p=" + action(d.PolicyInForce)
	if r.Policy != nil && r.Policy.Record != nil && r.Policy.Record.SP != "" {
		comment += " sp=" + action(r.Policy.Record.SP)
	}
	comment += " dis=" + action(d.Disposition) + r.trustedARCComment() + ")"
	words := []string{"dmarc=" + keyword(string(d.Result)), comment}
	if r.FromDomain != "" {
		words = append(words, "header.from="+pvalue(r.FromDomain))
	}
	return words
}

// action prints a policy action; anything unexpected becomes "none".
func action(a policy.Action) string {
	switch a {
	case policy.ActionQuarantine, policy.ActionReject:
		return string(a)
	}
	return string(policy.ActionNone)
}

// keyword returns a result word as RFC 8601 Keyword, or "permerror" for
// anything else, so a result can never inject syntax.
func keyword(s string) string {
	if s == "" {
		return "none"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "permerror"
		}
	}
	return s
}

// pvalue returns v bare when it is an RFC 2045 token (domain names are),
// else as a quoted-string.
func pvalue(v string) string {
	v = truncate(v)
	if isToken(v) {
		return v
	}
	return quoted(v)
}

// quoted returns an RFC 5322 quoted-string: '"' and '\' escaped, control
// characters and non-ASCII bytes replaced so that no CR, LF or NUL from the
// message or DNS ever reaches the header.
func quoted(v string) string {
	v = truncate(v)
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func truncate(v string) string {
	if len(v) > maxValueLen {
		return v[:maxValueLen]
	}
	return v
}

// isToken reports an RFC 2045 §5.1 token: printable ASCII without spaces
// and tspecials.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	return c > 0x20 && c < 0x7f && strings.IndexByte(`()<>@,;:\"/[]?=`, c) < 0
}

// withoutServers drops the " on <address>" of a DNS error's text ("lookup
// NAME on 127.0.0.1:53: server answered SERVFAIL"): a reason in a header
// that leaves the gateway says what failed, not where; the log keeps the
// whole text.
func withoutServers(s string) string {
	for i := 0; ; {
		j := strings.Index(s[i:], " on ")
		if j < 0 {
			return s
		}
		j += i
		rest := s[j+len(" on "):]
		if k := strings.Index(rest, ": "); k > 0 {
			if host, _, err := net.SplitHostPort(rest[:k]); err == nil && net.ParseIP(host) != nil {
				s = s[:j] + rest[k:]
				i = j
				continue
			}
		}
		i = j + len(" on ")
	}
}
