package policy

import (
	"bufio"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// The PSL's own tests and the list snapshot they were written against.
// Production keeps golang.org/x/net/publicsuffix, whose list is compiled in
// and may be of another date; the pinned list only explains differences.
const (
	pslTests  = "../testdata/psl/tests.txt"
	pslPinned = "../testdata/psl/public_suffix_list.dat"
)

type pslCase struct {
	line      int
	in, want  string // "" for the file's null
	rawIn, rw string // as written, for messages
}

// TestOrgDomainPSLVectors checks OrgDomainPSL against tests.txt.
//
// A line that OrgDomainPSL answers differently is explained, and only
// logged, when one of these holds, checked in this order:
//  1. public suffix: tests.txt says null for a public suffix and we return
//     the name itself, our deliberate choice (RFC 7489 §3.2 gives a public
//     suffix no Organizational Domain; we let it be its own);
//  2. IDN form: the input has U-labels and the answer for its A-label form
//     is the A-label form of the expected answer (or rule 1 holds for it):
//     names reach us as A-labels (RFC 9989 §5.3.1), as x/net's list is;
//  3. list version: the public suffix x/net finds for the input is not the
//     one the pinned public_suffix_list.dat gives.
//
// Any other difference fails the test.
func TestOrgDomainPSLVectors(t *testing.T) {
	cases := readPSLTests(t)
	pinned := loadPinnedPSL(t)
	matched := 0
	explained := map[string][]string{}
	for _, c := range cases {
		got := OrgDomainPSL(c.in)
		if got == c.want {
			matched++
			continue
		}
		why, detail := explainPSLDiff(c, got, pinned)
		if why == "" {
			t.Errorf("tests.txt:%d: OrgDomainPSL(%q) = %q, want %s", c.line, c.rawIn, got, c.rw)
			continue
		}
		explained[why] = append(explained[why], c.rawIn+" -> "+quoteOrNull(got)+" (want "+c.rw+")"+detail)
	}
	t.Logf("%d lines: %d matched, %d differ", len(cases), matched, len(cases)-matched)
	for _, why := range slices.Sorted(maps.Keys(explained)) {
		lines := explained[why]
		t.Logf("%d differ by %s:\n\t%s", len(lines), why, strings.Join(lines, "\n\t"))
	}
}

// explainPSLDiff returns the rule that explains a difference, and a detail
// for the log; "" when none does.
func explainPSLDiff(c pslCase, got string, pinned pslRules) (why, detail string) {
	if isOwnSuffix(c.want, got, strings.ToLower(c.in)) {
		return "public suffix is its own organizational domain", ""
	}
	a, aWant := toASCII(c.in), toASCII(c.want)
	if a != strings.ToLower(c.in) {
		if g := OrgDomainPSL(a); g == aWant || isOwnSuffix(aWant, g, a) {
			return "IDN form (U-labels)", " [A-labels: " + a + " -> " + quoteOrNull(g) + "]"
		}
	}
	if a == "" {
		return "", ""
	}
	if ps, _ := publicsuffix.PublicSuffix(a); ps != pinned.publicSuffix(a) {
		return "list version", " [x/net suffix " + ps + ", pinned " + pinned.publicSuffix(a) + "]"
	}
	return "", ""
}

// isOwnSuffix: the expected answer is null, and got is the name itself, a
// public suffix by x/net's list.
func isOwnSuffix(want, got, name string) bool {
	ps, _ := publicsuffix.PublicSuffix(got)
	return want == "" && got != "" && got == name && ps == got
}

// TestPinnedPSLMatcher checks the reference matcher that rule 3 above
// relies on: with the pinned list it must give every answer of tests.txt.
func TestPinnedPSLMatcher(t *testing.T) {
	pinned := loadPinnedPSL(t)
	for _, c := range readPSLTests(t) {
		if got := pinned.orgDomain(toASCII(c.in)); got != toASCII(c.want) {
			t.Errorf("tests.txt:%d: pinned matcher(%q) = %q, want %s", c.line, c.rawIn, got, c.rw)
		}
	}
}

func readPSLTests(t *testing.T) []pslCase {
	t.Helper()
	f, err := os.Open(pslTests)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("PSL tests not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pslCase
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("tests.txt:%d: want two fields: %q", n, l)
		}
		out = append(out, pslCase{line: n, in: nullToEmpty(f[0]), want: nullToEmpty(f[1]), rawIn: f[0], rw: f[1]})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("tests.txt: only %d cases", len(out))
	}
	return out
}

func nullToEmpty(s string) string {
	if s == "null" {
		return ""
	}
	return s
}

func quoteOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// toASCII lower-cases a name and turns its U-labels into A-labels; a name
// idna refuses is returned lower-cased.
func toASCII(s string) string {
	s = strings.ToLower(s)
	if a, err := idna.ToASCII(s); err == nil {
		return a
	}
	return s
}
