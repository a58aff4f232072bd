package inbound

import (
	"fmt"
	"strings"
	"testing"
)

// src makes a source: messages, how many passed DMARC, what it passes as.
func src(ip string, messages, pass uint64, org string, spf ...string) *SourceStat {
	s := &SourceStat{IP: ip, Messages: messages, DMARCPass: pass, Org: org, SPF: map[string]uint64{}, DKIM: map[string]uint64{}}
	for _, d := range spf {
		s.SPF[d+"=pass"] = messages
	}
	return s
}

func summary(days int, sources ...*SourceStat) *Summary {
	s := &Summary{Domain: "example.org", DaysObserved: days, Sources: sources}
	for _, x := range sources {
		s.Messages += x.Messages
		s.DMARCPass += x.DMARCPass
	}
	return s
}

var none = Published{Found: true, P: "none", Pct: 100}

func TestAdvise(t *testing.T) {
	own := src("192.0.2.1", 9900, 9900, "example.org")
	spoofers := make([]*SourceStat, 0, 100)
	for i := range 100 {
		spoofers = append(spoofers, src(fmt.Sprintf("203.0.113.%d", i), 5, 0, ""))
	}
	tests := []struct {
		name    string
		sum     *Summary
		days    int
		pub     Published
		verdict string
		reason  string // a substring of some reason
	}{
		{"no record", summary(30, own), 30, Published{Err: "NXDOMAIN"}, NotEnoughData, "no DMARC record"},
		{"13 days of 30", summary(13, own), 30, none, NotEnoughData, "13 of the last 30 days; the rule needs 14"},
		{"14 days of 30", summary(14, own), 30, none, Ready, "100.0% of 9900"},
		{"a 7-day window, all 7 seen", summary(7, own), 7, none, Ready, ""},
		{"a 7-day window, 6 seen", summary(6, own), 7, none, NotEnoughData, "needs 7"},
		{"99 messages", summary(30, src("192.0.2.1", 99, 99, "example.org")), 30, none, NotEnoughData, "99 messages; the rule needs 100"},
		{"100 messages", summary(30, src("192.0.2.1", 100, 100, "example.org")), 30, none, Ready, ""},
		{"failing sender at exactly 1%", summary(30, own, src("198.51.100.7", 100, 0, "news.example", "bounce.news.example")), 30, none, NotReady,
			"news.example at 198.51.100.7: 100 messages failing DMARC, 1.0% of the volume; it authenticates as bounce.news.example"},
		{"failing sender just under 1%", summary(30, own, src("198.51.100.7", 99, 0, "news.example")), 30, none, Ready, ""},
		{"one sender over several addresses", summary(30, own, src("198.51.100.7", 60, 0, "news.example"), src("198.51.100.8", 60, 0, "news.example")), 30, none, NotReady,
			"news.example at 198.51.100.0/24: 120 messages"},
		{"unauthenticated own server", summary(30, own, src("192.0.2.99", 500, 0, "")), 30, none, NotReady, "passes neither SPF nor DKIM"},
		{"scattered spoofing", summary(30, append([]*SourceStat{own}, spoofers...)...), 30, none, Ready, "scattered"},
		{"already at reject", summary(30, own), 30, Published{Found: true, P: "reject", Pct: 100}, Ready, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Advise(tc.sum, tc.days, tc.pub, DefaultRule)
			if a.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s: %q", a.Verdict, tc.verdict, a.Reasons)
			}
			if all := strings.Join(a.Reasons, "\n"); !strings.Contains(all, tc.reason) {
				t.Fatalf("reasons %q lack %q", all, tc.reason)
			}
			if (tc.verdict == NotReady) != (len(a.Blockers) > 0) {
				t.Fatalf("blockers %+v with verdict %s", a.Blockers, a.Verdict)
			}
		})
	}
}

func TestStage(t *testing.T) {
	tests := []struct {
		pub                  Published
		stage, partial, next string
	}{
		{Published{}, "none", "", "publish v=DMARC1"},
		{none, "monitor", "", "p=quarantine"},
		{Published{Found: true, P: "none", Pct: 100, Testing: true}, "monitor", "t=y", "p=quarantine"},
		{Published{Found: true, P: "quarantine", Pct: 100, Testing: true}, "quarantine", "t=y", "drop t=y"},
		{Published{Found: true, P: "quarantine", Pct: 25}, "quarantine", "pct=25", "drop pct=25"},
		{Published{Found: true, P: "quarantine", Pct: 100}, "quarantine", "", "p=reject"},
		{Published{Found: true, P: "reject", Pct: 50}, "reject", "pct=50", "drop pct=50"},
		{Published{Found: true, P: "reject", Pct: 100}, "reject", "", "complete"},
	}
	for _, tc := range tests {
		a := stage(tc.pub)
		if a.Stage != tc.stage || a.Partial != tc.partial || !strings.Contains(a.Next, tc.next) {
			t.Errorf("%+v: stage %q partial %q next %q", tc.pub, a.Stage, a.Partial, a.Next)
		}
	}
}
