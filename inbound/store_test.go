package inbound

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"dmarcgate/dmarcreport"
	"dmarcgate/store"
)

func openStore(t testing.TB, domains ...string) *Store {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := NewStore(context.Background(), db, Domains(domains))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// report makes a report of one day with rows (ip, count, aligned dkim, aligned spf).
func report(domain, org, id string, day int, rows ...Row) *Report {
	begin := day0.AddDate(0, 0, day)
	return &Report{Domain: domain, Reporter: org + "@reporter.example", ReportID: id, Org: org,
		Email: org + "@reporter.example", Begin: begin, End: begin.Add(24*time.Hour - time.Second),
		Policy: PublishedPolicy{P: "none"}, Rows: rows}
}

func TestAddDedupForeign(t *testing.T) {
	s := openStore(t, "example.org", ".example.net")
	ctx := context.Background()
	row := Row{SourceIP: "192.0.2.1", Count: 5, DKIMAligned: true, Disposition: "none", HeaderFrom: "example.org"}
	reps := []*Report{
		report("example.org", "google.com", "1", 0, row),
		report("example.org", "google.com", "1", 0, row), // mailed twice
		report("mail.example.org", "google.com", "2", 1, row),
		report("example.net", "yahoo.com", "1", 0, row),
		report("sub.example.net", "yahoo.com", "2", 0, row),
		report("example.com", "yahoo.com", "3", 0, row),
		report("notexample.org", "yahoo.com", "4", 0, row),
	}
	out, err := s.AddAggregates(ctx, reps)
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{Kept, Duplicate, Kept, Kept, Kept, Foreign, Foreign}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", out, want)
	}
	again, err := s.AddAggregates(ctx, reps[:1])
	if err != nil || again[0] != Duplicate {
		t.Fatalf("second import: %v %v", again, err)
	}
	sum, err := s.Query("example.org", day0, day0.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Messages != 5 || sum.Reports != 1 || sum.DMARCPass != 5 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestBadReportKeepsNothing(t *testing.T) {
	s := openStore(t, "example.org")
	good := report("example.org", "a", "1", 0, Row{SourceIP: "192.0.2.1", Count: 1})
	bad := report("example.org", "a", "2", 0)
	bad.Begin = time.Unix(0, 0)
	if _, err := s.AddAggregates(context.Background(), []*Report{good, bad}); err == nil {
		t.Fatal("no error for a report without date_range")
	}
	sum, _ := s.Query("example.org", day0, day0)
	if sum.Reports != 0 {
		t.Fatalf("%d reports kept", sum.Reports)
	}
}

func TestQueryDaysSourcesReporters(t *testing.T) {
	s := openStore(t, "example.org")
	var reps []*Report
	for d := range 40 {
		reps = append(reps,
			report("example.org", "google.com", fmt.Sprint("g", d), d,
				Row{SourceIP: "192.0.2.1", Count: 10, DKIMAligned: true, SPFAligned: true, Disposition: "none", DKIM: "example.org=pass", SPFDomain: "example.org", SPFResult: "pass"},
				Row{SourceIP: "198.51.100.7", Count: 3, Disposition: "none", DKIM: "news.example=pass", SPFDomain: "bounce.news.example", SPFResult: "pass"}),
			report("example.org", "yahoo.com", fmt.Sprint("y", d), d,
				Row{SourceIP: "192.0.2.1", Count: 1, DKIMAligned: true, Disposition: "none"}),
			report("example.org.other", "yahoo.com", fmt.Sprint("z", d), d, Row{SourceIP: "192.0.2.9", Count: 1}))
	}
	s.domains = Domains{"example.org", "example.org.other"}
	if _, err := s.AddAggregates(context.Background(), reps); err != nil {
		t.Fatal(err)
	}
	sum, err := s.Query("example.org", day0.AddDate(0, 0, 10), day0.AddDate(0, 0, 39))
	if err != nil {
		t.Fatal(err)
	}
	if sum.DaysObserved != 30 || sum.Reports != 60 || sum.Messages != 30*14 || sum.DMARCPass != 30*11 {
		t.Fatalf("days %d reports %d messages %d pass %d", sum.DaysObserved, sum.Reports, sum.Messages, sum.DMARCPass)
	}
	if len(sum.Sources) != 2 || sum.Sources[0].IP != "192.0.2.1" || sum.Sources[0].Messages != 330 || sum.Sources[1].SPF["bounce.news.example=pass"] != 90 {
		t.Fatalf("sources %+v %+v", sum.Sources[0], sum.Sources[1])
	}
	if len(sum.Reporters) != 2 || sum.Reporters[0].Org != "google.com" || sum.Reporters[0].Reports != 30 || sum.Reporters[0].Messages != 390 {
		t.Fatalf("reporters %+v", sum.Reporters)
	}
	AssignOrgs(sum)
	if sum.Sources[1].Org != "news.example" || sum.Sources[0].Org != "example.org" {
		t.Fatalf("orgs %q %q", sum.Sources[0].Org, sum.Sources[1].Org)
	}
	n, err := s.Prune(context.Background(), day0.AddDate(0, 0, 35))
	if err != nil || n != 35*3 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	sum, _ = s.Query("example.org", day0, day0.AddDate(0, 0, 39))
	if sum.DaysObserved != 5 {
		t.Fatalf("%d days left", sum.DaysObserved)
	}
	// A pruned report may be imported again (its dedup entry went with it).
	out, _ := s.AddAggregates(context.Background(), reps[:1])
	if out[0] != Kept {
		t.Fatalf("re-import after pruning: %v", out[0])
	}
}

// TestSamplesKeepTheirCounts: each real-world sample, filed, queries back
// to the sum of its <count> elements.
func TestSamplesKeepTheirCounts(t *testing.T) {
	files, _ := filepath.Glob("../testdata/dmarc-aggregate/samples/*/*")
	if len(files) < 20 {
		t.Fatalf("%d samples", len(files))
	}
	kept := 0
	for _, f := range files {
		parsed, err := dmarcreport.ReadReportFile(f)
		if err != nil {
			continue // the parser's tests cover refusals
		}
		for _, p := range parsed {
			r := FromAggregate(p)
			if r.Domain == "" || r.Begin.Unix() <= 0 {
				t.Errorf("%s: domain %q begin %v", f, r.Domain, r.Begin)
				continue
			}
			s := openStore(t, r.Domain)
			if _, err := s.AddAggregates(context.Background(), []*Report{r}); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			sum, err := s.Query(r.Domain, r.Begin, r.Begin)
			if err != nil || sum.Messages != uint64(p.MessageCount()) {
				t.Errorf("%s: %d messages, want %d (%v)", f, sum.Messages, p.MessageCount(), err)
			}
			kept++
		}
	}
	if kept < 25 {
		t.Errorf("only %d samples kept", kept)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	r := report("example.org", "x", "1", 0, Row{SourceIP: "2001:db8::1", Count: 1 << 40, DKIMAligned: true, Disposition: "reject", HeaderFrom: "a", SPFDomain: "b", SPFResult: "fail", DKIM: "c=pass d=fail", Reasons: "forwarded"})
	got, err := decodeReport(encodeReport(r))
	if err != nil || got.Rows[0] != r.Rows[0] || got.Org != r.Org || !got.Begin.Equal(r.Begin) {
		t.Fatalf("%+v %v", got, err)
	}
	b := encodeReport(r)
	for i := range len(b) {
		if _, err := decodeReport(b[:i]); err == nil {
			t.Fatalf("a value cut at %d decoded", i)
		}
	}
}

// TestRetentionRunsInTheBackground: RunRetention prunes at start what is
// older than the retention, and keeps the rest.
func TestRetentionRunsInTheBackground(t *testing.T) {
	s := openStore(t, "example.org")
	old := report("example.org", "a", "old", 0, Row{SourceIP: "192.0.2.1", Count: 1})
	old.Begin = time.Now().AddDate(0, 0, -401)
	fresh := report("example.org", "a", "fresh", 0, Row{SourceIP: "192.0.2.1", Count: 2})
	fresh.Begin = time.Now().AddDate(0, 0, -1)
	if _, err := s.AddAggregates(context.Background(), []*Report{old, fresh}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunRetention(ctx, DefaultRetention, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum, err := s.Query("example.org", time.Now().AddDate(0, 0, -500), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Reports == 1 {
			if sum.Messages != 2 {
				t.Fatalf("kept %d messages, want the fresh report's 2", sum.Messages)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d reports", sum.Reports)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
