package auth

import (
	"fmt"
	"strconv"
	"strings"
)

// This file reads the OpenSPF test suite (a multi-document YAML stream)
// without a YAML library: only the subset the suite uses. Documents are
// separated by "---"; each has description (skipped), tests (name -> map
// of scalars) and zonedata (name -> list of "- TYPE: value" items or bare
// TIMEOUT). Scalars are plain, 'single-' or "double-quoted" (with \xHH
// escapes read as raw bytes: the file is Latin-1), folded blocks (">-",
// skipped), or flow lists [a, b].

type spfScenario struct {
	Description string
	Tests       []spfCase
	Names       []string // zonedata names, in file order
	Zone        map[string][]spfRecord
}

type spfCase struct {
	Name, Helo, Host, MailFrom, Explanation string
	Results                                 []string
}

type spfRecord struct {
	Type   string   // SPF, TXT, A, AAAA, MX, PTR, CNAME, TIMEOUT, RCODE
	Values []string // one per flow-list element, or a single scalar
	List   bool     // the value was a flow list
}

func parseSPFSuite(text string) ([]spfScenario, error) {
	var out []spfScenario
	cur := &spfScenario{Zone: map[string][]spfRecord{}}
	section, name, lastKey := "", "", ""
	blockIndent := -1 // skipping a block scalar deeper than this indent
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for n, line := range lines {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		trimmed := strings.TrimSpace(line)
		if blockIndent >= 0 {
			if trimmed == "" || indent > blockIndent {
				continue
			}
			blockIndent = -1
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line == "---" {
			if len(cur.Tests) > 0 || len(cur.Zone) > 0 {
				out = append(out, *cur)
			}
			cur = &spfScenario{Zone: map[string][]spfRecord{}}
			section = ""
			continue
		}
		if section == "tests" && indent > 4 {
			// A plain scalar folded onto more lines (RFC-style prose in
			// descriptions and comments): only those may continue.
			if lastKey != "description" && lastKey != "comment" {
				return nil, fmt.Errorf("line %d: continued %s", n+1, lastKey)
			}
			continue
		}
		key, value, isBlock, err := splitKey(trimmed)
		lastKey = key
		if err != nil && !strings.HasPrefix(trimmed, "- ") {
			return nil, fmt.Errorf("line %d: %v", n+1, err)
		}
		if isBlock {
			blockIndent = indent
		}
		switch {
		case indent == 0:
			section = key
			if key == "description" && !isBlock {
				cur.Description = value
			}
		case section == "tests" && indent == 2:
			cur.Tests = append(cur.Tests, spfCase{Name: key})
		case section == "tests" && indent == 4:
			if err := setCaseField(&cur.Tests[len(cur.Tests)-1], key, value, isBlock); err != nil {
				return nil, fmt.Errorf("line %d: %v", n+1, err)
			}
		case section == "zonedata" && indent == 2:
			name = key
			cur.Names = append(cur.Names, name)
		case section == "zonedata" && indent == 4 && strings.HasPrefix(trimmed, "- "):
			rec, err := parseZoneItem(strings.TrimSpace(trimmed[2:]))
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n+1, err)
			}
			cur.Zone[name] = append(cur.Zone[name], rec)
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", n+1, line)
		}
	}
	if len(cur.Tests) > 0 || len(cur.Zone) > 0 {
		out = append(out, *cur)
	}
	return out, nil
}

// splitKey splits "key: value" (the key possibly quoted); isBlock reports
// a block scalar indicator as the value.
func splitKey(s string) (key, value string, isBlock bool, err error) {
	var rest string
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", false, fmt.Errorf("unterminated key in %q", s)
		}
		key, rest = s[1:end+1], s[end+2:]
	} else {
		i := strings.Index(s, ":")
		if i < 0 {
			return "", "", false, fmt.Errorf("no key in %q", s)
		}
		key, rest = s[:i], s[i:]
	}
	if !strings.HasPrefix(rest, ":") {
		return "", "", false, fmt.Errorf("no colon after key in %q", s)
	}
	value = strings.TrimSpace(rest[1:])
	if strings.HasPrefix(value, ">") || strings.HasPrefix(value, "|") {
		return key, "", true, nil
	}
	return key, value, false, nil
}

func setCaseField(c *spfCase, key, value string, isBlock bool) error {
	if isBlock {
		return nil // descriptions and comments
	}
	var err error
	switch key {
	case "helo":
		c.Helo, err = scalar(value)
	case "host":
		c.Host, err = scalar(value)
	case "mailfrom":
		c.MailFrom, err = scalar(value)
	case "explanation":
		c.Explanation, err = scalar(value)
	case "result":
		if strings.HasPrefix(value, "[") {
			c.Results, err = flowList(value)
		} else {
			var r string
			r, err = scalar(value)
			c.Results = []string{r}
		}
	}
	return err
}

func parseZoneItem(s string) (spfRecord, error) {
	if s == "TIMEOUT" {
		return spfRecord{Type: "TIMEOUT"}, nil
	}
	key, value, _, err := splitKey(s)
	if err != nil {
		return spfRecord{}, err
	}
	rec := spfRecord{Type: key}
	if strings.HasPrefix(value, "[") {
		rec.List = true
		rec.Values, err = flowList(value)
		return rec, err
	}
	v, err := scalar(value)
	rec.Values = []string{v}
	return rec, err
}

// flowList reads "[a, 'b', "c"]".
func flowList(s string) ([]string, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("bad flow list %q", s)
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	var out []string
	for inner != "" {
		var item string
		if inner[0] == '"' || inner[0] == '\'' {
			end := quotedEnd(inner)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			item, inner = inner[:end+1], inner[end+1:]
		} else if i := strings.IndexByte(inner, ','); i >= 0 {
			item, inner = inner[:i], inner[i:]
		} else {
			item, inner = inner, ""
		}
		v, err := scalar(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		inner = strings.TrimSpace(inner)
		inner = strings.TrimSpace(strings.TrimPrefix(inner, ","))
	}
	return out, nil
}

// quotedEnd returns the index of the quote closing the string at s[0].
func quotedEnd(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case q == '\'' && s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

// scalar decodes one scalar.
func scalar(s string) (string, error) {
	switch {
	case s == "":
		return "", nil
	case s[0] == '\'':
		if quotedEnd(s) != len(s)-1 {
			return "", fmt.Errorf("bad single-quoted scalar %q", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case s[0] == '"':
		if quotedEnd(s) != len(s)-1 {
			return "", fmt.Errorf("bad double-quoted scalar %q", s)
		}
		return unescapeYAML(s[1 : len(s)-1])
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s, nil
}

func unescapeYAML(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("trailing backslash in %q", s)
		}
		i++
		switch s[i] {
		case 'x':
			if i+2 >= len(s) {
				return "", fmt.Errorf("short \\x escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad \\x escape in %q", s)
			}
			b.WriteByte(byte(v))
			i += 2
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case '"', '\\', '/', ' ':
			b.WriteByte(s[i])
		default:
			return "", fmt.Errorf("unsupported escape \\%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}
