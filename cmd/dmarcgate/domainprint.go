package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"dmarcgate/inbound"
)

// shownSources bounds the source lines of the text output (--json has all).
const shownSources = 30

func printStatus(w io.Writer, st *inbound.DomainStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "domain:\t%s\n", st.Domain)
	fmt.Fprintf(tw, "window:\tlast %d days (%s .. %s), reports on %d of them\n", st.Days, st.From, st.To, st.DaysObserved)
	rec := st.Record
	if rec == "" {
		rec = "none found"
	}
	fmt.Fprintf(tw, "published:\t%s\n", rec)
	stage := st.Stage
	if st.Partial != "" {
		stage += " (" + st.Partial + ")"
	}
	fmt.Fprintf(tw, "rollout:\t%s; next: %s\n", stage, st.Next)
	fmt.Fprintf(tw, "volume:\t%d messages in %d reports from %d reporters\n", st.Messages, st.Reports, len(st.Reporters))
	fmt.Fprintf(tw, "dmarc pass:\t%d (%.1f%%)\n", st.DMARCPass, st.PassShare*100)
	fmt.Fprintf(tw, "verdict:\t%s\n", st.Verdict)
	tw.Flush()
	for _, r := range st.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	if len(st.Reporters) > 0 {
		fmt.Fprintln(w, "\nreporters:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ORG\tREPORTS\tMESSAGES\tLAST REPORT")
		for _, r := range st.Reporters {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", r.Org, r.Reports, r.Messages, r.Last.Format(time.DateOnly))
		}
		tw.Flush()
	}
	printSources(w, st.Sources)
}

// printSources writes the sources grouped by organisation, the largest
// group first, each group's sources largest first.
func printSources(w io.Writer, sources []*inbound.SourceStat) {
	if len(sources) == 0 {
		return
	}
	shown := sources[:min(len(sources), shownSources)]
	groups := map[string][]*inbound.SourceStat{}
	volume := map[string]uint64{}
	var names []string
	for _, s := range shown {
		org := s.Org
		if org == "" {
			org = "(none in the data)"
		}
		if groups[org] == nil {
			names = append(names, org)
		}
		groups[org] = append(groups[org], s)
		volume[org] += s.Messages
	}
	sort.SliceStable(names, func(i, j int) bool { return volume[names[i]] > volume[names[j]] })
	fmt.Fprintln(w, "\nsources, by organisation:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ORGANISATION\tIP\tPTR\tMESSAGES\tDMARC PASS\tSPF ALIGNED\tDKIM ALIGNED\tSPF\tDKIM\tDISPOSITION")
	for _, org := range names {
		label := fmt.Sprintf("%s (%d)", org, volume[org])
		for _, s := range groups[org] {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", label, s.IP, orDash(s.PTR), s.Messages, s.DMARCPass,
				s.SPFAligned, s.DKIMAligned, details(s.SPF), details(s.DKIM), details(s.Disposition))
			label = ""
		}
	}
	tw.Flush()
	if len(sources) > len(shown) {
		fmt.Fprintf(w, "  and %d more sources (--json lists them all)\n", len(sources)-len(shown))
	}
}

// details writes a detail map as "key:count" pairs, largest first.
func details(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", strings.ReplaceAll(k, " ", ","), m[k])
	}
	return strings.Join(parts, " ")
}

func printSample(w io.Writer, s *inbound.FailureSample) {
	fmt.Fprintf(w, "%s  source %s  from %s  reported by %s\n", s.Time.Format(time.RFC3339), orDash(s.SourceIP), orDash(oneLine(s.From)), orDash(oneLine(s.Reporter)))
	for _, kv := range [][2]string{{"mail from", s.MailFrom}, {"subject", s.Subject}, {"auth failure", s.AuthFailure},
		{"results", s.AuthResults}, {"dkim", strings.TrimSpace(s.DKIMDomain + " " + s.DKIMSelector)}, {"spf dns", s.SPFDNS},
		{"delivery", s.DeliveryResult}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "    %s: %s\n", kv[0], oneLine(kv[1]))
		}
	}
}
