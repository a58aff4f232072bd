package policy

import (
	"fmt"
	"strings"
)

// maxTagProblems bounds what RecordProblems lists for one record.
const maxTagProblems = 20

// RecordProblems says, for a postmaster, what ParseRecord ignores or
// replaces in a DMARC record: tag values that are not valid (p=rejectt),
// and what the record then acts as; tags that occur twice; URIs that are
// dropped; unknown tags (often a typo). It is empty for a clean record.
// The rules are ParseRecord's (RFC 9989 §4.7, §4.8, §4.10.1).
func RecordProblems(txt string) []string {
	rest, ok := cutVersion(txt)
	if !ok {
		return []string{"does not start with v=DMARC1: not a DMARC record"}
	}
	var out []string
	seen := map[string]bool{tagV: true}
	for rest != "" && len(out) < maxTagProblems {
		var seg string
		seg, rest, _ = strings.Cut(rest, ";")
		seg = trimWSP(seg)
		if seg == "" {
			continue
		}
		name, value, ok := strings.Cut(seg, "=")
		name, value = strings.ToLower(trimWSP(name)), trimWSP(value)
		switch {
		case !ok || !isAlpha(name):
			out = append(out, fmt.Sprintf("%q is not a tag=value pair: ignored", truncate(seg, 40)))
		case seen[name]:
			out = append(out, fmt.Sprintf("tag %s occurs twice: the record is invalid", name))
		default:
			seen[name] = true
			if p := tagProblem(name, value); p != "" {
				out = append(out, p)
			}
		}
	}
	if !seen[tagP] && len(out) < maxTagProblems {
		out = append(out, "no p tag: the record acts as p=none if rua= is valid, else it is ignored")
	}
	return out
}

// tagProblem checks one tag's value; "" when it is valid.
func tagProblem(name, value string) string {
	bad := func(want, effect string) string {
		return fmt.Sprintf("%s=%s is invalid (%s): %s", name, truncate(value, 40), want, effect)
	}
	lower := strings.ToLower(value)
	switch name {
	case tagP, "sp", "np":
		if _, ok := parseAction(value); !ok {
			return bad("none, quarantine or reject", "the record acts as p=none if rua= is valid, else it is ignored")
		}
	case "psd":
		if lower != "y" && lower != "n" && lower != "u" {
			return bad("y, n or u", "psd=u applies")
		}
	case "t":
		if lower != "y" && lower != "n" {
			return bad("y or n", "t=n applies")
		}
	case "adkim", "aspf":
		if lower != "r" && lower != "s" {
			return bad("r or s", "relaxed alignment applies")
		}
	case "fo":
		if unknown := unknownFO(value); unknown != "" {
			return fmt.Sprintf("fo=%s has unknown options %s (0, 1, d or s): ignored", truncate(value, 40), unknown)
		}
	case "pct":
		if _, ok := parsePct(value); !ok {
			return bad("an integer 0 to 100", "ignored")
		}
	case "rua", "ruf":
		if n := droppedURIs(value); n > 0 {
			return fmt.Sprintf("%s= has %d invalid URI(s): dropped", name, n)
		}
	case "rf", "ri":
		// RFC 7489 tags that RFC 9989 removed: harmless.
	default:
		return fmt.Sprintf("unknown tag %s: ignored", name)
	}
	return ""
}

func unknownFO(v string) string {
	var bad []string
	for _, opt := range strings.Split(v, ":") {
		switch strings.ToLower(trimWSP(opt)) {
		case "0", "1", "d", "s":
		default:
			bad = append(bad, fmt.Sprintf("%q", truncate(trimWSP(opt), 20)))
		}
	}
	return strings.Join(bad, ", ")
}

func droppedURIs(v string) int {
	n := 0
	for _, raw := range strings.Split(v, ",") {
		if _, ok := parseURI(trimWSP(raw)); !ok {
			n++
		}
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
