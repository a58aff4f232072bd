package queue

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/store"
)

// putEntries stores n entries directly, in one transaction.
func putEntries(t testing.TB, q *Queue, n int) {
	t.Helper()
	putEntriesAt(t, q.db, n, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
}

// putEntriesAt stores n entries received and next due at t0.
func putEntriesAt(t testing.TB, db *store.DB, n int, t0 time.Time) {
	t.Helper()
	err := db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		b := tx.Bucket(entryBucket)
		for i := 0; i < n; i++ {
			rec := &record{Message: Message{ID: fmt.Sprintf("w%07d", i), Kind: KindMail, Route: RouteRelay,
				From: "a@b.example", To: []string{"bob@example.org"}, Received: t0,
				LastError: strings.Repeat("e", 100), NextAttempt: t0}}
			v, err := encodeRecord(rec)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(rec.ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func heapLive() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// Walk visits every entry once, in order, across its batches, and holds
// one batch at a time: listing 20000 entries of ~1 KB costs the heap
// less than 4 MiB at any moment (List holds all of them).
func TestWalkStreamsInBatches(t *testing.T) {
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	const n = 20000
	putEntries(t, q, n)
	before := heapLive()
	seen, peak := 0, int64(0)
	err := q.Walk(nil, func(m *Message) error {
		if want := fmt.Sprintf("w%07d", seen); m.ID != want {
			return fmt.Errorf("entry %d is %s, want %s", seen, m.ID, want)
		}
		if seen%5000 == 2500 {
			peak = max(peak, heapLive()-before)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Fatalf("walked %d entries, want %d", seen, n)
	}
	if peak > 4<<20 {
		t.Fatalf("the walk held %d KiB of heap", peak>>10)
	}
	held := 0
	if err := q.Walk(func(m *Message) bool { return m.Held }, func(*Message) error { held++; return nil }); err != nil || held != 0 {
		t.Fatalf("held walk: %d entries, %v", held, err)
	}
}
