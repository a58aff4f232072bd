package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The demo runs to the end through the real gateway and shows each of the
// three outcomes, the Authentication-Results the store received and an
// aggregate report; it leaves no state behind.
func TestDemoShowsTheWholeJob(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"demo"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("demo: exit %d: %s\n%s", code, errb.String(), out.String())
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^   => accepted: 250 2\.0\.0 `),
		regexp.MustCompile(`(?m)^   => quarantined: 250 2\.0\.0 .*"X-Spam-Flag: YES"`),
		regexp.MustCompile(`(?m)^   => rejected: 550 5\.7\.26 `),
		regexp.MustCompile(`(?m)^   Authentication-Results: mx\.demo\.example;`),
		regexp.MustCompile(`dmarc=pass \(p=reject dis=none\) header\.from=reject\.example`),
		regexp.MustCompile(`dmarc=fail \(p=quarantine dis=quarantine\)`),
		regexp.MustCompile(`(?s)<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">.*<domain>reject\.example</domain>.*<disposition>reject</disposition>.*</feedback>`),
	} {
		if !want.MatchString(got) {
			t.Errorf("demo output lacks %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n   => "); n != len(demoMessages) {
		t.Errorf("demo printed %d outcomes, want %d", n, len(demoMessages))
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("demo left %v behind", left)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
}
