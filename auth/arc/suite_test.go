package arc

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"dmarcgate/resolver/resolvertest"
)

// The ARC validation suite (testdata/arc/arc-draft-validation-tests.yml,
// MIT, see testdata/arc/LICENSE.txt): YAML documents, each with tests
// (message, expected cv) and the key records they use.

type suiteCase struct {
	name, message, cv string
}

type suiteDoc struct {
	cases []suiteCase
	txt   map[string]string
}

// suiteDisagreements lists the cases where our answer differs from the
// suite's, with the RFC 8617 text that makes ours right.
var suiteDisagreements = map[string]struct {
	want Status
	why  string
}{
	"cv_fail_i1_as_cv_fail": {Fail, `The suite expects an empty result. §5.2 step 2: "If the Chain Validation Status of the highest instance value ARC Set is 'fail', then the Chain Validation Status is 'fail' and the algorithm stops here."`},
	"cv_fail_i2_as2_fail":   {Fail, `The suite expects an empty result. §5.2 step 2: "If the Chain Validation Status of the highest instance value ARC Set is 'fail', then the Chain Validation Status is 'fail' and the algorithm stops here."`},
	"ams_fields_c_na":       {Fail, `The AMS has no c= and the suite's signer used relaxed/relaxed. §4.1.2: the AMS is a DKIM-Signature but for v= and i=, and RFC 6376 §3.5 (c=): "If no canonicalization algorithm is specified, the 'simple' algorithm defaults for both header and body."`},
	"cv_fail_i2_as1_fail":   {Fail, `The suite expects an empty result. §5.2 step 3: "The 'cv' value for all ARC-Seal header fields MUST NOT be 'fail'", else "the Chain Validation Status is 'fail'".`},
}

func TestValidationSuite(t *testing.T) {
	text, err := os.ReadFile("../../testdata/arc/arc-draft-validation-tests.yml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseValidationSuite(string(text))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, d := range docs {
		total += len(d.cases)
		runSuiteDoc(t, d)
	}
	if total != 171 {
		t.Errorf("%d cases read, the suite has 171", total)
	}
}

func runSuiteDoc(t *testing.T, d suiteDoc) {
	zone := resolvertest.Zone{}
	for name, value := range d.txt {
		zone[name+"."] = append(zone[name+"."], txtRecord(name, value))
	}
	res, _ := newTestResolver(t, zone)
	v := &Verifier{Resolver: res}
	for _, c := range d.cases {
		t.Run(c.name, func(t *testing.T) {
			want := Status(strings.ToLower(c.cv))
			if dis, ok := suiteDisagreements[c.name]; ok {
				want = dis.want
			}
			msg := strings.ReplaceAll(c.message, "\n", "\r\n")
			got := v.Verify(context.Background(), []byte(msg))
			if got.Status != want {
				t.Errorf("cv=%s, want %s (%s)", got.Status, want, got.Reason)
			}
		})
	}
}

// parseValidationSuite reads the suite's subset of YAML: documents split
// by "---", a "tests" map of cases (literal block scalars for message) and
// a "txt-records" map (folded scalars). A case name given twice in a
// document keeps its last definition, as YAML loaders do.
func parseValidationSuite(text string) ([]suiteDoc, error) {
	var docs []suiteDoc
	for _, part := range splitDocuments(text) {
		d, err := parseSuiteDoc(strings.Split(part, "\n"))
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func splitDocuments(text string) []string {
	var parts []string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " ") == "---" {
			parts = append(parts, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(parts, strings.Join(cur, "\n"))
}

func parseSuiteDoc(lines []string) (suiteDoc, error) {
	d := suiteDoc{txt: map[string]string{}}
	byName := map[string]*suiteCase{}
	var order []string
	section := ""
	var cur *suiteCase
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		ind := indent(line)
		key, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		value = strings.TrimSpace(value)
		switch {
		case strings.TrimSpace(line) == "":
		case ind == 0:
			section = key
			if value == ">-" || value == "|" {
				_, i = blockScalar(lines, i+1, value, 0)
			}
		case section == "tests" && ind == 2:
			cur = &suiteCase{name: key}
			if byName[key] == nil {
				order = append(order, key)
			}
			byName[key] = cur
		case section == "tests" && ind == 4 && cur != nil:
			if value == "|" || value == ">-" {
				value, i = blockScalar(lines, i+1, value, 4)
			}
			switch key {
			case "message":
				cur.message = value
			case "cv":
				cur.cv = strings.TrimSpace(value)
			}
		case section == "txt-records" && ind == 2:
			if value == "|" || value == ">-" {
				value, i = blockScalar(lines, i+1, value, 2)
			}
			d.txt[key] = value
		default:
			return d, fmt.Errorf("line %q: not understood", line)
		}
	}
	sort.Strings(order)
	for _, n := range order {
		d.cases = append(d.cases, *byName[n])
	}
	return d, nil
}

func indent(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// blockScalar reads a block scalar starting at lines[from]: "|" keeps line
// breaks (clipped to one at the end), ">-" folds lines into spaces and
// strips the end. Its lines are indented deeper than parent. It returns
// the value and the index of its last line.
func blockScalar(lines []string, from int, style string, parent int) (string, int) {
	ind := -1
	var content []string
	last := from - 1
	for i := from; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			content = append(content, "")
			continue
		}
		if ind < 0 {
			ind = indent(l)
		}
		if indent(l) < ind || indent(l) <= parent {
			break
		}
		content = append(content, l[ind:])
		last = i
	}
	content = content[:max(0, last-from+1)]
	for len(content) > 0 && content[len(content)-1] == "" {
		content = content[:len(content)-1]
	}
	if style == ">-" {
		return strings.Join(content, " "), last
	}
	if len(content) == 0 {
		return "", last
	}
	return strings.Join(content, "\n") + "\n", last
}
