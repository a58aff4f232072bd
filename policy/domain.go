package policy

import "strings"

// normalizeDomain returns an ASCII domain name lower-cased without its
// trailing dot, or ErrInvalidDomain. Callers convert U-labels to A-labels
// first (RFC 9989 §5.3.1). Labels are 1 to 63 letters, digits, hyphens or
// underscores; the name is 253 characters at most (RFC 1035 §2.3.4).
func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return "", ErrInvalidDomain
	}
	label := 0
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '.':
			if label == 0 {
				return "", ErrInvalidDomain
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return "", ErrInvalidDomain
		}
		if label++; label > 63 {
			return "", ErrInvalidDomain
		}
	}
	if label == 0 {
		return "", ErrInvalidDomain
	}
	return strings.ToLower(d), nil
}

// countLabels counts the labels of a normalized name.
func countLabels(d string) int { return strings.Count(d, ".") + 1 }

// lastLabels returns the name made of the right-most n labels of d.
func lastLabels(d string, n int) string {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] == '.' {
			if n--; n == 0 {
				return d[i+1:]
			}
		}
	}
	return d
}

// isSubdomainOrSelf reports whether d equals parent or lies under it,
// ignoring case and trailing dots.
func isSubdomainOrSelf(d, parent string) bool {
	d, parent = strings.TrimSuffix(d, "."), strings.TrimSuffix(parent, ".")
	if len(d) == len(parent) {
		return strings.EqualFold(d, parent)
	}
	return len(d) > len(parent) && d[len(d)-len(parent)-1] == '.' &&
		strings.EqualFold(d[len(d)-len(parent):], parent)
}

// sameDomain compares two names ignoring case and a trailing dot (RFC 4343).
func sameDomain(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
