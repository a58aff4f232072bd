package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"dmarcgate/internal/pgtest"
	"dmarcgate/reporting"
)

// open joins a fresh database as instance name, schema migrated.
func open(t *testing.T, dsn, name string) *Cluster {
	t.Helper()
	c, err := Open(Config{DSN: dsn, Instance: name, ShipGrace: time.Second, LeaseTTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn, "a"), open(t, dsn, "b")
	errs := make(chan error, 2)
	go func() { errs <- a.Migrate(context.Background()) }()
	go func() { errs <- b.Migrate(context.Background()) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := a.pool.QueryRow(context.Background(), `SELECT count(*) FROM dg_schema`).Scan(&n); err != nil || n != SchemaVersion() {
		t.Fatalf("schema rows = %d (%v), want one per migration (%d)", n, err, SchemaVersion())
	}
}

func TestShipIsIdempotent(t *testing.T) {
	c := open(t, pgtest.Database(t), "a")
	ctx := context.Background()
	p := reporting.ShippedPeriod{Begin: 100, End: 199, Domain: "d.example", Policy: []byte(`{"domain":"d.example"}`),
		Rows: []reporting.ShippedRow{{Hash: [16]byte{1}, Row: []byte(`{}`), Count: 3}, {Hash: [16]byte{2}, Row: []byte(`{}`), Count: 4}}}
	for range 3 {
		if err := c.Ship(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var sum int64
	if err := c.pool.QueryRow(ctx, `SELECT sum(count) FROM dg_agg_rows`).Scan(&sum); err != nil || sum != 7 {
		t.Fatalf("rows sum to %d (%v) after shipping the same period three times, want 7", sum, err)
	}
}

func TestOneSenderHoldsTheLease(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn, "a"), open(t, dsn, "b")
	ctx := context.Background()
	if ok, err := a.lead(ctx); err != nil || !ok {
		t.Fatalf("a did not get the free lease: %v %v", ok, err)
	}
	if ok, err := b.lead(ctx); err != nil || ok {
		t.Fatalf("b got the lease a holds: %v %v", ok, err)
	}
	if ok, _ := a.lead(ctx); !ok {
		t.Fatal("a could not renew its lease")
	}
	// a stops renewing: b takes over once the lease expires.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := b.lead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never took over an expired lease")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ok, _ := a.lead(ctx); ok {
		t.Fatal("a took the lease back from b while b holds it")
	}
}

func TestFailureLimitsAreShared(t *testing.T) {
	dsn := pgtest.Database(t)
	insts := []*Cluster{open(t, dsn, "a"), open(t, dsn, "b"), open(t, dsn, "c")}
	ctx := context.Background()
	now := time.Now()
	// The same source and domain on three instances: one report an hour.
	got := 0
	for i, c := range insts {
		adm, err := c.AdmitFailure(ctx, reporting.FailureCharge{Domain: "sender.example", IP: "192.0.2.1",
			Dests: []string{"ruf@sender.example"}, At: now.Add(time.Duration(i) * time.Second),
			PerSource: time.Hour, PerDestDay: 100, PerHour: 500, Source: true})
		if err != nil {
			t.Fatal(err)
		}
		got += len(adm)
	}
	if got != 1 {
		t.Fatalf("%d reports admitted for one source over three instances, want 1", got)
	}
	// Per destination per day: 2 in all, whichever instance asks.
	got = 0
	for i := range 6 {
		adm, err := insts[i%3].AdmitFailure(ctx, reporting.FailureCharge{Domain: "other.example", IP: fmt.Sprintf("192.0.2.%d", 10+i),
			Dests: []string{"ruf@other.example"}, At: now, PerSource: time.Hour, PerDestDay: 2, PerHour: 500, Source: true})
		if err != nil {
			t.Fatal(err)
		}
		got += len(adm)
	}
	if got != 2 {
		t.Fatalf("%d reports to one address admitted, want max_per_destination_per_day = 2", got)
	}
}

type heldHere struct {
	msgs  []HeldMessage
	acted []string
}

func (h *heldHere) ListHeld() ([]HeldMessage, error) { return h.msgs, nil }
func (h *heldHere) ActOnHeld(_ context.Context, id, action, by string) (string, error) {
	h.acted = append(h.acted, action+" "+id+" by "+by)
	h.msgs = slices.DeleteFunc(h.msgs, func(m HeldMessage) bool { return m.ID == id })
	return id + " " + action + "d", nil
}

func TestHeldIndexAndActionsAcrossInstances(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn, "a"), open(t, dsn, "b")
	ctx := context.Background()
	here := &heldHere{msgs: []HeldMessage{{ID: "Q1", MailFrom: "x@spoof.example", From: "x@spoof.example", Subject: "hi", Received: time.Now(), Size: 10}}}
	if err := a.syncHeld(ctx, here); err != nil {
		t.Fatal(err)
	}
	list, err := b.ListHeld(ctx)
	if err != nil || len(list) != 1 || list[0].Instance != "a" || list[0].Subject != "hi" {
		t.Fatalf("b lists %+v (%v), want Q1 held by a", list, err)
	}
	res := make(chan string, 1)
	go func() {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r, err := b.AskHeld(actx, "Q1", "release")
		if err != nil {
			r = "error: " + err.Error()
		}
		res <- r
	}()
	// a carries out what b asked at its next sync.
	deadline := time.Now().Add(10 * time.Second)
	for len(here.acted) == 0 && time.Now().Before(deadline) {
		if err := a.syncHeld(ctx, here); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := <-res; r != "Q1 released (on a)" {
		t.Fatalf("b was told %q", r)
	}
	if len(here.acted) != 1 || here.acted[0] != "release Q1 by b" {
		t.Fatalf("a did %v", here.acted)
	}
	if _, err := b.HeldBy(ctx, "Q1"); err == nil {
		t.Fatal("Q1 still in the index after its release")
	}
	if _, err := b.AskHeld(ctx, "nope", "delete"); err == nil {
		t.Fatal("asking for an unknown ID did not fail")
	}
}
