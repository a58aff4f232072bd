package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"testing"
)

// treeWalkVectors are the DNS Tree Walk examples of RFC 9989 (§4.10,
// §4.10.2, §5.1.8, Appendix B.4), transcribed in testdata/dmarc-eval.
const treeWalkVectors = "../testdata/dmarc-eval/dmarcbis-treewalk-examples.json"

// treeWalkCaseCount is how many cases the pinned file holds: a short read
// must not pass as a smaller suite.
const treeWalkCaseCount = 8

type treeWalkFile struct {
	Source      string            `json:"source"`
	Licence     string            `json:"licence"`
	Conventions map[string]string `json:"conventions"`
	Cases       []treeWalkCase    `json:"cases"`
}

// treeWalkCase is one vector; which fields are set depends on Kind.
type treeWalkCase struct {
	ID           string            `json:"id"`
	Section      string            `json:"section"`
	Kind         string            `json:"kind"`
	Note         string            `json:"note"`
	RecordsFound []string          `json:"records_found"`
	PSD          map[string]string `json:"psd"`
	// query_sequence and organizational_domain
	Start           string   `json:"start"`
	ExpectedQueries []string `json:"expected_queries"`
	ExpectedOrg     string   `json:"expected_organizational_domain"`
	// alignment
	AuthorDomain   string           `json:"author_domain"`
	MailFromDomain string           `json:"mail_from_domain"`
	DKIMDomain     string           `json:"dkim_domain"`
	AlignmentMode  string           `json:"alignment_mode"`
	Expected       *alignmentExpect `json:"expected"`
}

type alignmentExpect struct {
	OrgDomain        map[string]string `json:"organizational_domain"`
	AuthorQueries    []string          `json:"queries_for_author_domain"`
	AuthorOrgQueries []string          `json:"queries_for_author_org_domain"`
	DKIMOrgQueries   []string          `json:"queries_for_dkim_org_domain"`
	SPFAligned       *bool             `json:"spf_aligned"`
	DKIMAligned      *bool             `json:"dkim_aligned"`
	PolicyDomain     string            `json:"policy_domain"`
}

// loadTreeWalkVectors decodes the file strictly: a field this test does not
// know would otherwise be an expectation silently left unchecked.
func loadTreeWalkVectors(t *testing.T) []treeWalkCase {
	t.Helper()
	data, err := os.ReadFile(treeWalkVectors)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("vectors not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f treeWalkFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", treeWalkVectors, err)
	}
	if len(f.Cases) != treeWalkCaseCount {
		t.Fatalf("%s: %d cases, want %d", treeWalkVectors, len(f.Cases), treeWalkCaseCount)
	}
	return f.Cases
}

func TestTreeWalkVectors(t *testing.T) {
	for _, c := range loadTreeWalkVectors(t) {
		t.Run(c.ID, func(t *testing.T) {
			switch c.Kind {
			case "query_sequence":
				checkQuerySequence(t, c)
			case "organizational_domain":
				checkOrgDomainCase(t, c)
			case "alignment":
				checkAlignmentCase(t, c)
			default:
				t.Fatalf("unknown kind %q: teach this test what it means", c.Kind)
			}
		})
	}
}

// vectorZone publishes one valid record at each domain of records_found and
// of psd (a psd value implies a record there, e.g. the psd=n record the
// §5.1.8 walk never reaches); every other name is not found.
func vectorZone(t *testing.T, c treeWalkCase) *zone {
	t.Helper()
	tags := ""
	switch c.AlignmentMode {
	case "", "relaxed":
	case "strict":
		tags = "; adkim=s; aspf=s"
	default:
		t.Fatalf("unknown alignment_mode %q", c.AlignmentMode)
	}
	z := newZone()
	add := func(d string) {
		rec := "v=DMARC1; p=none" + tags
		if psd, ok := c.PSD[d]; ok {
			rec += "; psd=" + psd
		}
		z.txt["_dmarc."+d] = []string{rec}
	}
	for _, d := range c.RecordsFound {
		add(d)
	}
	for d := range c.PSD {
		add(d)
	}
	return z
}

func checkQueries(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: queries\n got  %q\n want %q", what, got, want)
	}
}

// checkQuerySequence: the order and the limit of the walk's TXT queries
// (RFC 9989 §4.10), both for policy discovery and for the org domain.
func checkQuerySequence(t *testing.T, c treeWalkCase) {
	if c.Start == "" || len(c.ExpectedQueries) == 0 {
		t.Fatal("case lacks start or expected_queries")
	}
	z := vectorZone(t, c)
	d, err := z.discover(c.Start)
	checkQueries(t, "Discover", z.queries, c.ExpectedQueries)
	switch {
	case len(z.txt) == 0 && !errors.Is(err, ErrNoRecord):
		t.Errorf("Discover = %+v, %v; want ErrNoRecord", d, err)
	case len(z.txt) > 0 && err != nil:
		t.Errorf("Discover: %v", err)
	case err == nil && d.Queries != len(c.ExpectedQueries):
		t.Errorf("Discovery.Queries = %d, want %d", d.Queries, len(c.ExpectedQueries))
	}
	z = vectorZone(t, c)
	if _, err := z.org(c.Start); err != nil {
		t.Errorf("OrgDomainTreeWalk: %v", err)
	}
	checkQueries(t, "OrgDomainTreeWalk", z.queries, c.ExpectedQueries)
}

// checkOrgDomainCase: the Organizational Domain rules of RFC 9989 §4.10.2.
func checkOrgDomainCase(t *testing.T, c treeWalkCase) {
	if c.Start == "" || c.ExpectedOrg == "" {
		t.Fatal("case lacks start or expected_organizational_domain")
	}
	z := vectorZone(t, c)
	org, err := z.org(c.Start)
	if err != nil || org != c.ExpectedOrg {
		t.Errorf("OrgDomainTreeWalk(%s) = %q, %v; want %q", c.Start, org, err, c.ExpectedOrg)
	}
	if c.ExpectedQueries != nil {
		checkQueries(t, "OrgDomainTreeWalk", z.queries, c.ExpectedQueries)
	}
	z = vectorZone(t, c)
	d, err := z.discover(c.Start)
	if err != nil || d.OrgDomain != c.ExpectedOrg {
		t.Errorf("Discover(%s) = %+v, %v; want org domain %q", c.Start, d, err, c.ExpectedOrg)
	}
}

// checkAlignmentCase: Appendix B.4, discovery, each identifier's
// Organizational Domain, then Evaluate's alignment with passing SPF and DKIM.
func checkAlignmentCase(t *testing.T, c treeWalkCase) {
	x := c.Expected
	if x == nil || c.AuthorDomain == "" || x.SPFAligned == nil || x.DKIMAligned == nil ||
		x.PolicyDomain == "" || len(x.OrgDomain) == 0 {
		t.Fatal("case lacks author_domain or expected alignment, policy or org domains")
	}
	z := vectorZone(t, c)
	disc, err := z.discover(c.AuthorDomain)
	if err != nil {
		t.Fatalf("Discover(%s): %v", c.AuthorDomain, err)
	}
	for _, want := range [][]string{x.AuthorQueries, x.AuthorOrgQueries} {
		if want != nil {
			checkQueries(t, "Discover "+c.AuthorDomain, z.queries, want)
		}
	}
	if mode := alignmentOf(c.AlignmentMode); disc.Record.ADKIM != mode || disc.Record.ASPF != mode {
		t.Errorf("record adkim=%s aspf=%s, want %s", disc.Record.ADKIM, disc.Record.ASPF, mode)
	}
	if disc.PolicyDomain != x.PolicyDomain {
		t.Errorf("policy domain = %s, want %s", disc.PolicyDomain, x.PolicyDomain)
	}
	if want, ok := x.OrgDomain[c.AuthorDomain]; ok && disc.OrgDomain != want {
		t.Errorf("Discover org domain = %s, want %s", disc.OrgDomain, want)
	}
	for dom, want := range x.OrgDomain {
		z := vectorZone(t, c)
		if got, err := z.org(dom); err != nil || got != want {
			t.Errorf("OrgDomainTreeWalk(%s) = %q, %v; want %q", dom, got, err, want)
		}
		if dom == c.DKIMDomain && x.DKIMOrgQueries != nil {
			checkQueries(t, "OrgDomainTreeWalk "+dom, z.queries, x.DKIMOrgQueries)
		}
	}
	dec := Evaluate(Input{
		FromDomain: c.AuthorDomain,
		OrgDomain:  vectorOrgDomain(t, c),
		Discovery:  disc,
		SPF:        SPFResult{Domain: c.MailFromDomain, Scope: "mfrom", Result: Pass},
		DKIM:       []DKIMResult{{Domain: c.DKIMDomain, Selector: "s1", Result: Pass}},
	})
	if dec.SPFAligned != *x.SPFAligned || dec.DKIMAligned != *x.DKIMAligned {
		t.Errorf("aligned: SPF %v DKIM %v; want SPF %v DKIM %v (%s)",
			dec.SPFAligned, dec.DKIMAligned, *x.SPFAligned, *x.DKIMAligned, dec.Why)
	}
	if want := resultOf(*x.SPFAligned || *x.DKIMAligned); dec.Result != want {
		t.Errorf("result = %s, want %s", dec.Result, want)
	}
}

// vectorOrgDomain is Input.OrgDomain over the case's zone, as auth wires it.
func vectorOrgDomain(t *testing.T, c treeWalkCase) func(string) string {
	return func(d string) string {
		org, err := vectorZone(t, c).org(d)
		if err != nil {
			t.Errorf("OrgDomainTreeWalk(%s): %v", d, err)
			return d
		}
		return org
	}
}

func resultOf(pass bool) Result {
	if pass {
		return Pass
	}
	return Fail
}

func alignmentOf(mode string) Alignment {
	if mode == "strict" {
		return Strict
	}
	return Relaxed
}
