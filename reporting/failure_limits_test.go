package reporting

import (
	"context"
	"errors"
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
		v, err = l.admit(tx, now, domain, domain, ip, dests)
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

// chargeOnce runs one charge in its own durable commit.
func chargeOnce(t *testing.T, db *store.DB, l failureLimits, now time.Time, dest string) error {
	t.Helper()
	return db.Commit(context.Background(), func(tx *bbolt.Tx) error { return l.charge(tx, now, dest) })
}

func TestLimitPerDestinationPerDay(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 3, perHour: 1000}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		for _, d := range []string{"r@a.example", "other@b.example"} {
			if err := chargeOnce(t, db, l, t0, d); err != nil {
				t.Fatalf("report %d to %s: %v", i, d, err)
			}
		}
	}
	// The fourth goes to neither: both addresses are at their cap.
	for _, d := range []string{"R@A.example", "other@b.example"} {
		if err := chargeOnce(t, db, l, t0, d); !errors.Is(err, errFailureLimited) {
			t.Fatalf("fourth report to %s: %v, want limited", d, err)
		}
	}
	// A fresh address still gets one.
	if err := chargeOnce(t, db, l, t0, "new@a.example"); err != nil {
		t.Fatalf("fresh address: %v", err)
	}
	// Next UTC day the count starts again.
	if err := chargeOnce(t, db, l, t0.Add(14*time.Hour), "r@a.example"); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestLimitPerHour(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 1000, perHour: 5}
	t0 := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	charged := 0
	for i := 0; i < 20; i++ {
		err := chargeOnce(t, db, l, t0, fmt.Sprintf("r@d%d.example", i))
		if err == nil {
			charged++
		}
		if i >= 5 && !errors.Is(err, errFailureLimited) {
			t.Fatalf("report %d: %v, want limited by hour", i, err)
		}
	}
	if charged != 5 {
		t.Fatalf("queued %d in one hour, want 5", charged)
	}
	if err := chargeOnce(t, db, l, t0.Add(30*time.Minute), "r@x.example"); err != nil {
		t.Fatalf("next clock hour: %v", err)
	}
}

// One organisational domain gets its share of the hour at admission, and
// the pending store is bounded; other organisations are not affected.
func TestLimitOrgShare(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 1000, perHour: 20}
	t0 := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	admitted := 0
	for i := 0; i < 10; i++ {
		var v limitVerdict
		err := db.Commit(context.Background(), func(tx *bbolt.Tx) (err error) {
			v, err = l.admit(tx, t0, fmt.Sprintf("s%d.evil.example", i), "evil.example", "192.0.2.1", []string{"r@evil.example"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		admitted += len(v.Admitted)
	}
	if admitted != 2 {
		t.Fatalf("one organisation admitted %d, want its share 20/%d = 2", admitted, orgShareDivisor)
	}
	if v := admitOnce(t, db, l, t0, "sender.example", "192.0.2.1", "r@sender.example"); len(v.Admitted) != 1 {
		t.Fatalf("another organisation: %+v", v)
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
		t.Fatalf("%d counters, want 3 (source, organisation, recorded)", n)
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
