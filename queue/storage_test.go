package queue

import (
	"bytes"
	"errors"
	"testing"
)

// Spool files of bodies being received count against MaxSpoolInFlight
// until they are committed or aborted.
func TestSpoolInFlightBound(t *testing.T) {
	db, dir := openDB(t)
	cfg := testConfig(dir)
	cfg.MaxSpoolInFlight = 2 << 20
	q := newQueue(t, db, cfg)
	chunk := bytes.Repeat([]byte("x"), 1536<<10)
	a := q.NewBody()
	if _, err := a.Write(chunk); err != nil {
		t.Fatalf("first 1.5 MiB body: %v", err)
	}
	if got := q.SpoolInFlight(); got != int64(len(chunk)) {
		t.Fatalf("in flight %d, want %d", got, len(chunk))
	}
	b := q.NewBody()
	if _, err := b.Write(chunk); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("second body past the bound: %v, want ErrStorageFull", err)
	}
	b.Abort()
	a.Abort()
	if got := q.SpoolInFlight(); got != 0 {
		t.Fatalf("in flight after both aborted: %d", got)
	}
	c := q.NewBody()
	if _, err := c.Write(chunk); err != nil {
		t.Fatalf("a body after the others left: %v", err)
	}
	if _, err := c.seal("sealed-test"); err != nil {
		t.Fatal(err)
	}
	if got := q.SpoolInFlight(); got != 0 {
		t.Fatalf("in flight after seal: %d", got)
	}
	if err := q.StorageLow(); err != nil {
		t.Fatalf("StorageLow with room: %v", err)
	}
}
