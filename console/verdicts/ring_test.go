package verdicts

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"dmarcgate/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRingKeepsTheNewest(t *testing.T) {
	db := openDB(t)
	r := New(db, 10, nil)
	r.Start()
	now := time.Now()
	for i := range 25 {
		out := Accepted
		if i%5 == 0 {
			out = Rejected
		}
		r.Add(&Record{Time: now, ClientIP: fmt.Sprintf("192.0.2.%d", i), FromDomain: "example.com", DMARC: "pass", Outcome: out})
	}
	r.Close()
	r.Add(&Record{Time: now}) // after Close: neither blocks nor panics
	got, err := r.Recent(Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].ClientIP != "192.0.2.24" || got[9].ClientIP != "192.0.2.15" {
		t.Fatalf("kept %d: first %+v", len(got), got)
	}
	if got[0].Seq != 25 {
		t.Errorf("newest seq %d, want 25", got[0].Seq)
	}
	if _, err := r.Get(3); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(3) after it left the ring: %v", err)
	}
	if rec, err := r.Get(20); err != nil || rec.ClientIP != "192.0.2.19" {
		t.Errorf("Get(20) = %+v, %v", rec, err)
	}
	hours, err := r.Hours(now.Add(-2*time.Hour), now)
	if err != nil || len(hours) != 3 {
		t.Fatalf("hours %v %v", hours, err)
	}
	if c := hours[2].Counts; c[Accepted] != 20 || c[Rejected] != 5 || c.Total() != 25 {
		t.Errorf("this hour's counts %v: the hourly counts cover every verdict, not only the ring", c)
	}
	if s := Sum(hours, now.Add(-time.Hour)); s.Total() != 25 {
		t.Errorf("sum %v", s)
	}
}

func TestRingFilter(t *testing.T) {
	db := openDB(t)
	r := New(db, 0, nil)
	r.Start()
	r.Add(&Record{Time: time.Now(), ClientIP: "192.0.2.1", FromDomain: "a.example", DMARC: "fail", Action: "reject", Disposition: "reject", Outcome: Rejected})
	r.Add(&Record{Time: time.Now(), ClientIP: "192.0.2.2", FromDomain: "b.example", DMARC: "pass", Action: "deliver", Disposition: "none", Outcome: Accepted})
	r.Add(&Record{Time: time.Now(), ClientIP: "192.0.2.1", FromDomain: "b.example", DMARC: "fail", Action: "hold", Disposition: "quarantine", Outcome: Quarantined})
	r.Close()
	cases := []struct {
		f    Filter
		want int
	}{
		{Filter{}, 3},
		{Filter{IP: "192.0.2.1"}, 2},
		{Filter{FromDomain: "b.example"}, 2},
		{Filter{Result: "fail"}, 2},
		{Filter{Disposition: "hold"}, 1},
		{Filter{Disposition: Quarantined}, 1},
		{Filter{Result: "fail", FromDomain: "a.example"}, 1},
		{Filter{IP: "198.51.100.1"}, 0},
	}
	for _, c := range cases {
		got, err := r.Recent(c.f, 100)
		if err != nil || len(got) != c.want {
			t.Errorf("%+v: %d verdicts (%v), want %d", c.f, len(got), err, c.want)
		}
	}
}

// TestRingAddNeverBlocks: with no writer running, Add drops past the
// pending bound instead of waiting.
func TestRingAddNeverBlocks(t *testing.T) {
	r := New(openDB(t), pending+100, nil)
	for range pending + 10 {
		r.Add(&Record{})
	}
	if r.Dropped() != 10 {
		t.Errorf("dropped %d, want 10", r.Dropped())
	}
	r.Start()
	r.Close()
	got, _ := r.Recent(Filter{}, pending+100)
	if len(got) != pending {
		t.Errorf("stored %d, want %d", len(got), pending)
	}
}

// TestBriefsSurviveARestart: the in-memory briefs are the ring's newest,
// newest first, and a new Ring on the same database starts with them.
func TestBriefsSurviveARestart(t *testing.T) {
	db := openDB(t)
	r := New(db, 5, nil)
	r.Start()
	for i := range 8 {
		r.Add(&Record{Time: time.Now(), ClientIP: fmt.Sprintf("192.0.2.%d", i), DMARC: "fail", Outcome: Rejected})
	}
	r.Close()
	check := func(r *Ring, when string) {
		b, _ := r.Briefs(100)
		if len(b) != 5 || b[0].ClientIP != "192.0.2.7" || b[4].ClientIP != "192.0.2.3" || !b[0].Failing() {
			t.Errorf("%s: briefs %+v", when, b)
		}
	}
	check(r, "after writing")
	again := New(db, 5, nil)
	again.Start()
	defer again.Close()
	check(again, "after a restart")
	if b, _ := again.Briefs(2); len(b) != 2 {
		t.Errorf("limit 2: %d briefs", len(b))
	}
}
