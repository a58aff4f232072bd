package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const alertsFile = "../../contrib/prometheus-alerts.yml"

// declaredMetrics collects the metric names the code declares
// (Name: "dmarcgate_..." in the collectors' options), tests excluded.
func declaredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`Name:\s*"(dmarcgate_[a-z0-9_]+)"`)
	names := map[string]bool{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "third_party" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			names[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("found only %d metric declarations: the scan is broken", len(names))
	}
	return names
}

// metricsNamedIn lists the dmarcgate_ names a file uses, without the
// series suffixes of histograms.
func metricsNamedIn(t *testing.T, path string, declared map[string]bool) []string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range regexp.MustCompile(`\bdmarcgate_[a-z0-9_]*[a-z0-9]`).FindAllString(string(text), -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && declared[base] {
				n = base
			}
		}
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Every metric the alert rules and the operations guide name is one the
// code declares: a renamed metric must not leave an alert that never fires.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	declared := declaredMetrics(t)
	for _, file := range []string{alertsFile, "../../docs/operations.md"} {
		used := metricsNamedIn(t, file, declared)
		if len(used) == 0 {
			t.Errorf("%s names no dmarcgate metric", file)
		}
		for _, n := range used {
			if !declared[n] {
				t.Errorf("%s uses %s, which no Name: in the code declares", file, n)
			}
		}
	}
}

// Every rule has the fields Alertmanager routing and the guide rely on.
func TestAlertRulesShape(t *testing.T) {
	text, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	rules := strings.Split(string(text), "      - alert: ")[1:]
	if len(rules) < 10 {
		t.Fatalf("%d rules in %s, want at least 10", len(rules), alertsFile)
	}
	sev := regexp.MustCompile(`(?m)^\s+severity: (critical|warning|info)$`)
	for _, r := range rules {
		name, _, _ := strings.Cut(r, "\n")
		for _, want := range []string{"\n        expr: ", "\n          summary: "} {
			if !strings.Contains(r, want) {
				t.Errorf("rule %s lacks %q", name, strings.TrimSpace(want))
			}
		}
		if !sev.MatchString(r) {
			t.Errorf("rule %s has no severity of critical, warning or info", name)
		}
	}
}

// promtool, where installed, accepts the rules (YAML, PromQL, templates).
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): the rules were not checked by Prometheus")
	}
	out, err := exec.Command(promtool, "check", "rules", alertsFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
