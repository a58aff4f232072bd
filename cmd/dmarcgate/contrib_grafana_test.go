package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

const grafanaFile = "../../contrib/grafana-dashboard.json"

type grafanaDashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) *grafanaDashboard {
	t.Helper()
	data, err := os.ReadFile(grafanaFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", grafanaFile, err)
	}
	return &d
}

// TestGrafanaDashboardNamesRealMetrics: every metric the dashboard queries
// is one the code declares, every panel has a query on the imported
// Prometheus, and the panels fit Grafana's 24-column grid.
func TestGrafanaDashboardNamesRealMetrics(t *testing.T) {
	d := readDashboard(t)
	declared := declaredMetrics(t)
	used := metricsNamedIn(t, grafanaFile, declared)
	if len(used) < 20 {
		t.Errorf("the dashboard names only %d metrics", len(used))
	}
	for _, n := range used {
		if !declared[n] {
			t.Errorf("%s names %s, which the code does not declare", grafanaFile, n)
		}
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W < 1 {
			t.Errorf("panel %q does not fit the grid: %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: %d queries, datasource %q", p.Title, len(p.Targets), p.Datasource.UID)
		}
	}
}

// TestGrafanaDashboardLabelsExist: the labels the dashboard groups and
// filters by are on the series a running serve exposes.
func TestGrafanaDashboardLabelsExist(t *testing.T) {
	h := newHarness(t, nil)
	resp, err := http.Get("http://" + h.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	labels := map[string]map[string]bool{} // metric (histograms without _bucket) -> its labels
	series := regexp.MustCompile(`(?m)^(dmarcgate_[a-z0-9_]+)\{([^}]*)\}`)
	for _, m := range series.FindAllStringSubmatch(string(body), -1) {
		name := strings.TrimSuffix(m[1], "_bucket")
		if labels[name] == nil {
			labels[name] = map[string]bool{}
		}
		for _, kv := range strings.Split(m[2], ",") {
			k, _, _ := strings.Cut(kv, "=")
			labels[name][k] = true
		}
	}
	metric := regexp.MustCompile(`dmarcgate_[a-z0-9_]*[a-z0-9]`)
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	matcher := regexp.MustCompile(`([a-z_]+)=~?"`)
	checked := 0
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			names := metric.FindAllString(tg.Expr, -1)
			var want []string
			for _, b := range by.FindAllStringSubmatch(tg.Expr, -1) {
				for _, l := range strings.Split(b[1], ",") {
					if l = strings.TrimSpace(l); l != "le" {
						want = append(want, l)
					}
				}
			}
			for _, m := range matcher.FindAllStringSubmatch(tg.Expr, -1) {
				if m[1] != "instance" {
					want = append(want, m[1])
				}
			}
			for _, n := range names {
				have := labels[strings.TrimSuffix(n, "_bucket")]
				if have == nil {
					continue // no labelled series before the first event
				}
				for _, l := range want {
					checked++
					if !have[l] {
						t.Errorf("panel %q: %s has no label %q (it has %v)", p.Title, n, l, have)
					}
				}
			}
		}
	}
	t.Logf("%d labels checked", checked)
	if checked < 15 {
		t.Errorf("only %d labels checked: the scan is broken", checked)
	}
}
