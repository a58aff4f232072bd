package policy

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// pslRules is the pinned public suffix list as a set of A-label rules, each
// as written: "com", "*.ck", "!www.ck". Tests use it only to tell a list
// version difference from a real one; production uses x/net's list.
type pslRules map[string]bool

func loadPinnedPSL(t *testing.T) pslRules {
	t.Helper()
	f, err := os.Open(pslPinned)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pinned PSL not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := pslRules{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "//") {
			continue
		}
		rules[pslRuleToASCII(f[0])] = true
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) < 1000 {
		t.Fatalf("%s: only %d rules", pslPinned, len(rules))
	}
	return rules
}

// pslRuleToASCII converts the name part of a rule, keeping its "!" or "*."
// prefix.
func pslRuleToASCII(r string) string {
	for _, p := range []string{"!", "*."} {
		if rest, ok := strings.CutPrefix(r, p); ok {
			return p + toASCII(rest)
		}
	}
	return toASCII(r)
}

// publicSuffix applies the list's algorithm (publicsuffix.org/list): the
// longest matching rule wins, an exception rule wins over all and means
// its parent, and with no match the top-level label is the suffix.
func (r pslRules) publicSuffix(d string) string {
	labels := strings.Split(d, ".")
	best := labels[len(labels)-1]
	for i := len(labels) - 1; i >= 0; i-- {
		name := strings.Join(labels[i:], ".")
		parent := strings.Join(labels[i+1:], ".")
		if r["!"+name] {
			return parent
		}
		if r[name] || parent != "" && r["*."+parent] {
			best = name
		}
	}
	return best
}

// orgDomain is the registrable domain (suffix plus one label), "" for a
// public suffix or a name with an empty label, as tests.txt writes null.
func (r pslRules) orgDomain(d string) string {
	if d == "" || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return ""
	}
	ps := r.publicSuffix(d)
	if ps == d {
		return ""
	}
	rest := strings.TrimSuffix(d, "."+ps)
	return rest[strings.LastIndex(rest, ".")+1:] + "." + ps
}
