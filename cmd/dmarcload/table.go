package main

import (
	"fmt"
	"io"
	"time"
)

// table prints one row per run, in fixed-width columns.
type table struct{ w io.Writer }

func newTable(w io.Writer) *table { return &table{w: w} }

const rowFormat = "%-26s %7s %5s %7s %9s %8s %8s %7s %5s %6s %6s %9s %9s\n"

func (t *table) header() {
	fmt.Fprintf(t.w, rowFormat, "run", "msgs", "conns", "size", "msgs/s", "p50", "p99",
		"2xx", "4xx", "5xx", "errors", "peak RSS", "vs direct")
}

// row prints a run's figures; rss and directRate are left blank when 0.
func (t *table) row(label string, o options, s summary, rss int64, directRate float64) {
	rssText, ratio := "-", "-"
	if rss > 0 {
		rssText = fmt.Sprintf("%.1f MiB", float64(rss)/(1<<20))
	}
	if directRate > 0 {
		ratio = fmt.Sprintf("%.3fx", s.rate/directRate)
	}
	fmt.Fprintf(t.w, rowFormat, label, fmt.Sprint(s.sent), fmt.Sprint(o.c), fmt.Sprint(o.size),
		fmt.Sprintf("%.0f", s.rate), fmtDuration(s.p50), fmtDuration(s.p99),
		fmt.Sprint(s.accepted), fmt.Sprint(s.temp), fmt.Sprint(s.perm), fmt.Sprint(s.failed), rssText, ratio)
}

// notes prints indented remarks under the last row.
func (t *table) notes(lines []string) {
	for _, l := range lines {
		fmt.Fprintf(t.w, "    %s\n", l)
	}
}

// fmtDuration is short: 0.42ms, 12.3ms, 4.56s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}
