package auth

import (
	"net/netip"
	"strconv"
	"strings"
)

// spfSyntaxError returns why an SPF record breaks the grammar of RFC 7208
// §12, or "" when it does not. A record with a syntax error anywhere gives
// permerror before any of it is evaluated (§4.6); the SPF library
// evaluates left to right and stops at the first match, so it misses an
// error after it, and it does not check every part it reads.
func spfSyntaxError(record string) string {
	for i := 0; i < len(record); i++ {
		if c := record[i]; c != ' ' && (c < 0x21 || c > 0x7e) {
			return "a character other than visible ASCII and space"
		}
	}
	version, rest, _ := strings.Cut(record, " ")
	if !strings.EqualFold(version, "v=spf1") {
		return "no v=spf1 version"
	}
	var redirect, exp bool
	for rest != "" {
		var term string
		term, rest, _ = strings.Cut(rest, " ")
		if term == "" { // terms are separated by one or more spaces
			continue
		}
		if name, value, ok := modifier(term); ok {
			var seen *bool
			switch {
			case strings.EqualFold(name, "redirect"):
				seen = &redirect
			case strings.EqualFold(name, "exp"):
				seen = &exp
			}
			if seen != nil {
				if *seen {
					return strings.ToLower(name) + "= twice" // §6
				}
				*seen = true
				if !validDomainSpec(value) {
					return "bad domain-spec in " + quoteTerm(term)
				}
				continue
			}
			if !validMacroString(value) {
				return "bad macro-string in " + quoteTerm(term)
			}
			continue
		}
		if !validDirective(term) {
			return "bad term " + quoteTerm(term)
		}
	}
	return ""
}

// maxQuotedTerm bounds how much of a term an error quotes: the reason goes
// into the log line and the Authentication-Results field.
const maxQuotedTerm = 64

func quoteTerm(term string) string {
	if len(term) > maxQuotedTerm {
		return strconv.Quote(term[:maxQuotedTerm]) + "..."
	}
	return strconv.Quote(term)
}

// modifier splits a term of the form name "=" value, name being ALPHA
// *( ALPHA / DIGIT / "-" / "_" / "." ).
func modifier(term string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(term, "=")
	if !ok || name == "" || !isAlpha(name[0]) {
		return "", "", false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return "", "", false
		}
	}
	return name, value, true
}

// validDirective checks [ qualifier ] mechanism.
func validDirective(term string) bool {
	if strings.IndexByte("+-?~", term[0]) >= 0 {
		term = term[1:]
	}
	end := strings.IndexAny(term, ":/")
	if end < 0 {
		end = len(term)
	}
	name, rest := strings.ToLower(term[:end]), term[end:]
	switch name {
	case "all":
		return rest == ""
	case "include", "exists":
		value, ok := strings.CutPrefix(rest, ":")
		return ok && validDomainSpec(value)
	case "ptr":
		if rest == "" {
			return true
		}
		value, ok := strings.CutPrefix(rest, ":")
		return ok && validDomainSpec(value)
	case "a", "mx":
		value, ok := strings.CutPrefix(rest, ":")
		if !ok {
			return validDualCIDR(rest)
		}
		// The domain-spec ends where a valid CIDR length begins; a "/"
		// before that is part of it (a domain-spec may hold one). The
		// lengths are at most maxDualCIDR bytes: only those are tried, so
		// that a record of many "/" costs no more than its length.
		for i := max(0, len(value)-maxDualCIDR); i < len(value); i++ {
			if value[i] == '/' && validDualCIDR(value[i:]) {
				return validDomainSpec(value[:i])
			}
		}
		return validDomainSpec(value)
	case "ip4":
		return validNetwork(rest, validIP4, 32)
	case "ip6":
		return validNetwork(rest, validIP6, 128)
	}
	return false
}

// validNetwork checks ":" network [ "/" prefix length up to max ].
func validNetwork(rest string, validAddr func(string) bool, max int) bool {
	value, ok := strings.CutPrefix(rest, ":")
	if !ok {
		return false
	}
	addr, cidr, hasCIDR := strings.Cut(value, "/")
	return validAddr(addr) && (!hasCIDR || validCIDR(cidr, max))
}

// validIP6 checks an IPv6 address as RFC 4291 §2.2 writes it.
func validIP6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && strings.Contains(s, ":") && a.Zone() == ""
}

// maxDualCIDR is the longest dual-cidr-length, "/32//128".
const maxDualCIDR = len("/32//128")

// validDualCIDR checks [ "/" ip4-cidr ] [ "//" ip6-cidr ].
func validDualCIDR(s string) bool {
	ip4, ip6, dual := strings.Cut(s, "//")
	if ip4 != "" {
		n, ok := strings.CutPrefix(ip4, "/")
		if !ok || !validCIDR(n, 32) {
			return false
		}
	}
	return !dual || validCIDR(ip6, 128)
}

// validCIDR checks a prefix length: no leading zero, at most max.
func validCIDR(s string, max int) bool {
	if s == "" || len(s) > 3 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= max
}

// validIP4 checks qnum "." qnum "." qnum "." qnum, without leading zeros.
func validIP4(s string) bool {
	for i := range 4 {
		part, rest, found := strings.Cut(s, ".")
		if !validCIDR(part, 255) || found == (i == 3) {
			return false
		}
		s = rest
	}
	return true
}

// validDomainSpec checks macro-string domain-end: the domain-spec ends in
// a macro or in "." and a top label ([ "." ] after it), as RFC 7208 §7.1
// requires. Macros letters c, r and t are for explanations only (§7.2).
func validDomainSpec(s string) bool {
	endsInMacro, ok := scanMacroString(s, false)
	if !ok || s == "" {
		return false
	}
	if endsInMacro {
		return true
	}
	s = strings.TrimSuffix(s, ".")
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return false
	}
	top := s[dot+1:]
	// The top label must be literal: after the last macro.
	if strings.IndexByte(top, '%') >= 0 || strings.IndexByte(top, '}') >= 0 {
		return false
	}
	return validTopLabel(top)
}

// validMacroString checks an unknown modifier's value.
func validMacroString(s string) bool {
	_, ok := scanMacroString(s, false)
	return ok
}

// scanMacroString checks *( macro-expand / macro-literal ) and reports
// whether it ends in a macro-expand. explain allows c, r and t.
func scanMacroString(s string, explain bool) (endsInMacro, ok bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				return false, false
			}
			i++
			endsInMacro = false
			continue
		}
		if i+1 >= len(s) {
			return false, false
		}
		switch s[i+1] {
		case '%', '_', '-':
			i += 2
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 || !validMacroBody(s[i+2:i+end], explain) {
				return false, false
			}
			i += end + 1
		default:
			return false, false
		}
		endsInMacro = true
	}
	return endsInMacro, true
}

// validMacroBody checks macro-letter transformers *delimiter, between "%{"
// and "}".
func validMacroBody(b string, explain bool) bool {
	if b == "" {
		return false
	}
	switch strings.ToLower(b[:1]) {
	case "s", "l", "o", "d", "i", "p", "h", "v":
	case "c", "r", "t":
		if !explain {
			return false
		}
	default:
		return false
	}
	i := 1
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i < len(b) && (b[i] == 'r' || b[i] == 'R') {
		i++
	}
	for ; i < len(b); i++ {
		if strings.IndexByte(".-+,/_=", b[i]) < 0 {
			return false
		}
	}
	return true
}

// validTopLabel checks ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func validTopLabel(s string) bool {
	if s == "" {
		return false
	}
	alpha, hyphen := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			hyphen = true
		default:
			return false
		}
	}
	if !hyphen {
		return alpha
	}
	return s[0] != '-' && s[len(s)-1] != '-'
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
