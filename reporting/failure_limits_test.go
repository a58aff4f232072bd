package reporting

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/store"
)

func openTestDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// admitOnce runs one admit in its own durable commit.
func admitOnce(t *testing.T, db *store.DB, l failureLimits, now time.Time, domain, ip string, dests ...string) limitVerdict {
	t.Helper()
	var v limitVerdict
	err := db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		var err error
		v, err = l.admit(tx, now, domain, ip, dests)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLimitPerSource(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 100, perHour: 100}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if v := admitOnce(t, db, l, t0, "a.example", "192.0.2.1", "r@a.example"); len(v.Admitted) != 1 {
		t.Fatalf("first report not admitted: %+v", v)
	}
	if v := admitOnce(t, db, l, t0.Add(59*time.Minute), "a.example", "192.0.2.1", "r@a.example"); v.Limited != "source" {
		t.Fatalf("second report within the hour: %+v, want limited by source", v)
	}
	if v := admitOnce(t, db, l, t0.Add(time.Minute), "a.example", "192.0.2.2", "r@a.example"); len(v.Admitted) != 1 {
		t.Fatalf("other source IP limited: %+v", v)
	}
	if v := admitOnce(t, db, l, t0.Add(time.Minute), "b.example", "192.0.2.1", "r@b.example"); len(v.Admitted) != 1 {
		t.Fatalf("other domain limited: %+v", v)
	}
	if v := admitOnce(t, db, l, t0.Add(time.Hour), "a.example", "192.0.2.1", "r@a.example"); len(v.Admitted) != 1 {
		t.Fatalf("report after the interval not admitted: %+v", v)
	}
}

func TestLimitPerDestinationPerDay(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 3, perHour: 1000}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		v := admitOnce(t, db, l, t0, "a.example", fmt.Sprintf("192.0.2.%d", i), "r@a.example", "other@b.example")
		if len(v.Admitted) != 2 {
			t.Fatalf("report %d: %+v", i, v)
		}
	}
	// The fourth goes to neither: both addresses are at their cap.
	if v := admitOnce(t, db, l, t0, "a.example", "192.0.2.9", "R@A.example", "other@b.example"); v.Limited != "destination" {
		t.Fatalf("fourth report: %+v, want limited by destination", v)
	}
	// A fresh address still gets one; the capped one does not.
	if v := admitOnce(t, db, l, t0, "a.example", "192.0.2.10", "r@a.example", "new@a.example"); len(v.Admitted) != 1 || v.Admitted[0] != "new@a.example" {
		t.Fatalf("mixed destinations: %+v", v)
	}
	// Next UTC day the count starts again.
	if v := admitOnce(t, db, l, t0.Add(14*time.Hour), "a.example", "192.0.2.11", "r@a.example"); len(v.Admitted) != 1 {
		t.Fatalf("next day: %+v", v)
	}
}

func TestLimitPerHour(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 1000, perHour: 5}
	t0 := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	admitted := 0
	for i := 0; i < 20; i++ {
		v := admitOnce(t, db, l, t0, fmt.Sprintf("d%d.example", i), "192.0.2.1", fmt.Sprintf("r@d%d.example", i))
		admitted += len(v.Admitted)
		if i >= 5 && v.Limited != "hour" {
			t.Fatalf("report %d: %+v, want limited by hour", i, v)
		}
	}
	if admitted != 5 {
		t.Fatalf("admitted %d in one hour, want 5", admitted)
	}
	if v := admitOnce(t, db, l, t0.Add(30*time.Minute), "x.example", "192.0.2.1", "r@x.example"); len(v.Admitted) != 1 {
		t.Fatalf("next clock hour: %+v", v)
	}
}

func TestLimitPrune(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 10, perHour: 10}
	t0 := time.Date(2026, 5, 1, 23, 30, 0, 0, time.UTC)
	admitOnce(t, db, l, t0, "a.example", "192.0.2.1", "r@a.example")
	count := func() int {
		n := 0
		db.View(func(tx *bbolt.Tx) error {
			n = tx.Bucket(failureLimitBucket).Stats().KeyN
			return nil
		})
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("%d counters, want 3 (source, destination, hour)", n)
	}
	prune := func(now time.Time) {
		if err := db.Commit(context.Background(), func(tx *bbolt.Tx) error { return l.prune(tx, now) }); err != nil {
			t.Fatal(err)
		}
	}
	prune(t0.Add(10 * time.Minute))
	if n := count(); n != 3 {
		t.Fatalf("pruned live counters: %d left", n)
	}
	prune(t0.Add(2 * time.Hour))
	if n := count(); n != 0 {
		t.Fatalf("%d stale counters left", n)
	}
}
