package arc

import (
	"strconv"
	"strings"
)

// foldWidth is the longest line FoldTags and formatAAR write after the
// folding TAB, as the signers of the ARC test suite do.
const foldWidth = 72

// FoldTags writes a tag list as the value of an ARC-Seal or
// ARC-Message-Signature: tags in the order given, "; " between them,
// folded with CRLF TAB where a line would pass foldWidth. b= and a long
// h= are split where they must be (inside b=, whose value the signature
// leaves out; after a colon of h=), and h= ends its line. Every fold
// replaces a space or lies inside b=, or is signed as it is, so the
// layout depends only on the lengths of the values.
func FoldTags(tags [][2]string) string {
	var lines []string
	cur := ""
	for j, t := range tags {
		tok := t[0] + "=" + t[1]
		if j < len(tags)-1 {
			tok += ";"
		}
		if cur != "" && len(cur)+1+len(tok) <= foldWidth {
			cur += " " + tok
		} else {
			if cur != "" {
				lines = append(lines, cur)
			}
			cur = tok
			for len(cur) > foldWidth {
				cut := splitAt(t[0], cur)
				if cut <= 0 {
					break
				}
				lines = append(lines, cur[:cut])
				cur = cur[cut:]
			}
		}
		if t[0] == "h" {
			lines = append(lines, cur)
			cur = ""
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return strings.Join(lines, "\r\n\t")
}

// splitAt is where an over-long tag may be folded: anywhere in b=, after
// a colon in h=, nowhere else.
func splitAt(name, s string) int {
	switch name {
	case "b":
		return foldWidth
	case "h":
		return strings.LastIndexByte(s[:foldWidth], ':') + 1
	}
	return 0
}

// formatAAR writes an ARC-Authentication-Results field: i=, the
// authserv-id, and the results one to a line (RFC 8617 §4.1.1); "none"
// when there are none (RFC 8601 §2.2).
func formatAAR(inst int, authservID string, results []string) string {
	var b strings.Builder
	b.WriteString(ResultsField + ": i=" + strconv.Itoa(inst) + "; " + authservID)
	if len(results) == 0 {
		b.WriteString("; none\r\n")
		return b.String()
	}
	for j, r := range results {
		if j == 0 {
			b.WriteString("; ")
		} else {
			b.WriteString(";\r\n\t")
		}
		b.WriteString(foldWords(r))
	}
	b.WriteString("\r\n")
	return b.String()
}

// foldWords folds one result at spaces where it passes foldWidth.
func foldWords(r string) string {
	words := strings.Fields(r)
	var b strings.Builder
	col := 0
	for j, w := range words {
		if j > 0 {
			if col+1+len(w) > foldWidth {
				b.WriteString("\r\n\t")
				col = 0
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// SplitResults reads the value of an Authentication-Results field into
// its authserv-id and its results, each unfolded, with its whitespace
// runs made one space (RFC 8601 §2.2). Semicolons inside comments and
// quoted strings do not split. A "none" result list gives no results.
func SplitResults(value string) (authservID string, results []string) {
	parts := splitOutside(value, ';')
	authservID = collapse(parts[0])
	for _, p := range parts[1:] {
		if p = collapse(p); p != "" && !strings.EqualFold(p, "none") {
			results = append(results, p)
		}
	}
	return authservID, results
}

// splitOutside splits s at sep where sep is outside comments (nested
// parentheses) and quoted strings, honouring backslash escapes.
func splitOutside(s string, sep byte) []string {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// collapse unfolds s and makes each whitespace run one space, trimmed.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }
