package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

var testBucket = []byte("test")

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	d, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

func put(key, value string) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(testBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	}
}

func get(t *testing.T, d *DB, key string) string {
	t.Helper()
	var v string
	err := d.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(testBucket); b != nil {
			v = string(b.Get([]byte(key)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCommitIsDurableAcrossReopen(t *testing.T) {
	d, path := openTemp(t)
	if err := d.Commit(context.Background(), put("k", "v")); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if got := get(t, d2, "k"); got != "v" {
		t.Fatalf("after reopen got %q, want v", got)
	}
}

func TestSecondOpenGetsErrLocked(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	_, err := Open(path, 100*time.Millisecond)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Open took %v, want about the timeout", time.Since(start))
	}
}

func TestFailingRequestAloneGetsItsError(t *testing.T) {
	d, _ := openTemp(t)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 7 {
				errs[i] = d.Commit(context.Background(), func(tx *bbolt.Tx) error {
					if err := put("bad", "x")(tx); err != nil {
						return err
					}
					return boom
				})
				return
			}
			if i == 9 {
				errs[i] = d.Commit(context.Background(), func(tx *bbolt.Tx) error { panic("bug") })
				return
			}
			errs[i] = d.Commit(context.Background(), put(fmt.Sprint(i), "ok"))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		switch i {
		case 7:
			if !errors.Is(err, boom) {
				t.Errorf("request 7: got %v, want boom", err)
			}
		case 9:
			if err == nil || !strings.Contains(err.Error(), "panicked") {
				t.Errorf("request 9: got %v, want a panic error", err)
			}
		default:
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			if got := get(t, d, fmt.Sprint(i)); got != "ok" {
				t.Errorf("request %d: value %q not committed", i, got)
			}
		}
	}
	if got := get(t, d, "bad"); got != "" {
		t.Errorf("failed request's write was committed: %q", got)
	}
}

func TestConcurrentCommitsShareTransactions(t *testing.T) {
	d, _ := openTemp(t)
	const n = 50
	before := d.Commits()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- d.Commit(context.Background(), put(fmt.Sprint(i), "v"))
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	commits := d.Commits() - before
	if commits >= n {
		t.Fatalf("%d commits for %d requests: no batching", commits, n)
	}
	if d.Requests() != n {
		t.Fatalf("Requests() = %d, want %d", d.Requests(), n)
	}
	t.Logf("%d requests in %d commits", n, commits)
}

func TestCommitHonoursContextAndClose(t *testing.T) {
	d, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Commit(ctx, put("k", "v")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: got %v", err)
	}
	if got := get(t, d, "k"); got != "" {
		t.Fatalf("cancelled request was committed")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(context.Background(), put("k", "v")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestCommitterGathersOnlyUnderLoad: lone requests are committed at once;
// under concurrent load the committer waits for company between commits,
// no longer than the last commit took and never over maxGather.
func TestCommitterGathersOnlyUnderLoad(t *testing.T) {
	d, _ := openTemp(t)
	// Swapped before any request: the committer reads it only on one.
	var mu sync.Mutex
	var waits []time.Duration
	d.gather = func(w time.Duration) {
		mu.Lock()
		waits = append(waits, w)
		mu.Unlock()
		time.Sleep(w)
	}
	for i := range 5 {
		if err := d.Commit(context.Background(), put(fmt.Sprint("lone", i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if len(waits) != 0 {
		t.Fatalf("lone requests waited %v", waits)
	}
	mu.Unlock()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			for j := range 20 {
				if err := d.Commit(context.Background(), put(fmt.Sprint(i, "-", j), "v")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(waits) == 0 {
		t.Fatal("no wait under concurrent load")
	}
	for _, w := range waits {
		if w <= 0 || w > maxGather {
			t.Fatalf("waited %v, want (0, %v]", w, maxGather)
		}
	}
	t.Logf("1000 requests in %d commits, %d after a wait", d.Commits()-5, len(waits))
}

func BenchmarkCommitParallel(b *testing.B) {
	d, err := Open(filepath.Join(b.TempDir(), "state.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var mu sync.Mutex
	n := 0
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			key := fmt.Sprint(n)
			mu.Unlock()
			if err := d.Commit(context.Background(), put(key, "v")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(d.Requests())/float64(max(d.Commits(), 1)), "req/commit")
}

// TestChurnKeepsFileBounded: a queue-like load (4 KiB values added and
// removed, a window of 100 alive) reuses freed pages, so the file stays
// near the size of what is alive, also after a reopen rebuilt the list of
// free pages (it is not stored).
func TestChurnKeepsFileBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	value := strings.Repeat("v", 4200)
	churn := func(d *DB, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			err := d.Commit(context.Background(), func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists(testBucket)
				if err != nil {
					return err
				}
				if err := b.Put(fmt.Appendf(nil, "%08d", i), []byte(value)); err != nil {
					return err
				}
				return b.Delete(fmt.Appendf(nil, "%08d", i-100))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	size := func() int64 {
		var n int64
		d, err := Open(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		d.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
		d.Close()
		return n
	}
	for round := 0; round < 2; round++ {
		d, err := Open(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		churn(d, round*1000, (round+1)*1000)
		d.Close()
	}
	// 100 live values take about 0.7 MB with bbolt's leaves and free pages.
	if n := size(); n > 2<<20 {
		t.Fatalf("file grew to %d bytes for 100 live values of 4 KiB after 2000 added", n)
	}
}
