package queue

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"unsafe"

	dto "github.com/prometheus/client_model/go"
)

// Expect takes the SIZE= hint: a body that fits is written into one
// buffer reserved up front, one announced past the memory limit goes to a
// spool file from its first byte, and a wrong hint changes where the body
// is kept, never what is stored.
func TestBodyExpect(t *testing.T) {
	cases := []struct {
		name       string
		hint       int64
		size       int
		inMemory   bool // kept in the database, not a spool file
		oneBuffer  bool // never reallocated while written
		spoolEarly bool // a spool file exists before the first Write
	}{
		{"no hint", 0, 4096, true, false, false},
		{"exact", 4096, 4096, true, true, false},
		{"a little short", 100 << 10, 101 << 10, true, true, false},
		{"much too small", 1024, 64 << 10, true, false, false},
		{"too small for memory", 4096, memoryLimit + 1, false, false, false},
		{"announced large", 3 << 20, 3 << 20, false, false, true},
		{"announced large, sent small", 3 << 20, 2048, false, false, true},
		{"nonsense", -5, 4096, true, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, dir := openDB(t)
			q := newQueue(t, db, testConfig(dir))
			want := []byte(bigBody(c.size))[:c.size]
			b := q.NewBody()
			b.Expect(c.hint)
			if spooled := b.file != nil; spooled != c.spoolEarly {
				t.Fatalf("spool file before the first Write: %v, want %v", spooled, c.spoolEarly)
			}
			first := unsafe.SliceData(b.buf)
			for chunk := range slicesChunk(want, 32<<10) {
				if _, err := b.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			if c.oneBuffer && (first == nil || unsafe.SliceData(b.buf) != first) {
				t.Error("the reserved buffer was replaced while written")
			}
			id, err := q.Enqueue(context.Background(), &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, statErr := os.Stat(q.spoolPath(id))
			if inMemory := os.IsNotExist(statErr); inMemory != c.inMemory {
				t.Errorf("kept in the database: %v, want %v (spool file: %v)", inMemory, c.inMemory, statErr)
			}
			got := readStored(t, q, id)
			if !bytes.Equal(got, want) {
				t.Fatalf("stored %d bytes, want the %d written", len(got), len(want))
			}
		})
	}
}

// readStored reads back the stored message of queue entry id.
func readStored(t *testing.T, q *Queue, id string) []byte {
	t.Helper()
	r, err := q.Body(id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Bodies share Config.BodyMemory beyond the first MemoryKept bytes each:
// one that cannot get its share goes to a spool file, one within
// MemoryKept never does, what is stored is the same either way, and every
// reservation comes back once the bodies are enqueued or aborted.
func TestBodyMemoryBudget(t *testing.T) {
	db, dir := openDB(t)
	cfg := testConfig(dir)
	cfg.BodyMemory = 1 << 20
	q := newQueue(t, db, cfg)
	spooled := func() float64 {
		var m dto.Metric
		if err := bodiesSpooled.WithLabelValues("memory").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before := spooled()

	write := func(b *Body, n int) []byte {
		t.Helper()
		data := []byte(bigBody(n))[:n]
		for chunk := range slicesChunk(data, 32<<10) {
			if _, err := b.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		return data
	}
	a, b, c, d := q.NewBody(), q.NewBody(), q.NewBody(), q.NewBody()
	dataA := write(a, 900<<10) // 644 KiB of the budget
	if a.Bytes() == nil {
		t.Fatal("the first large body went to a file with the budget free")
	}
	dataB := write(b, 900<<10) // does not fit beside a
	if b.Bytes() != nil || spooled() != before+1 {
		t.Fatalf("the second large body stayed in memory past the budget (spooled for memory: %v)", spooled()-before)
	}
	dataC := write(c, MemoryKept) // needs no budget
	if c.Bytes() == nil {
		t.Fatal("a body within MemoryKept went to a file")
	}
	d.Expect(900 << 10) // announced: does not fit either
	if d.Bytes() != nil {
		t.Fatal("a body announced past the budget was given memory")
	}
	dataD := write(d, 900<<10)
	if used := q.BodyMemoryInUse(); used <= 0 || used > cfg.BodyMemory {
		t.Fatalf("budget in use = %d, want within (0, %d]", used, cfg.BodyMemory)
	}
	for _, w := range []struct {
		body *Body
		data []byte
	}{{a, dataA}, {b, dataB}, {c, dataC}, {d, dataD}} {
		id, err := q.Enqueue(context.Background(), &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, w.body, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := readStored(t, q, id); !bytes.Equal(got, w.data) {
			t.Fatalf("stored %d bytes, want the %d written", len(got), len(w.data))
		}
	}
	aborted := q.NewBody()
	write(aborted, 800<<10)
	aborted.Abort()
	refused := q.NewBody()
	write(refused, 800<<10)
	if _, err := q.Enqueue(context.Background(), &Message{Route: RouteRelay, From: "a@sender.test"}, refused, nil); err == nil {
		t.Fatal("a message without recipients was enqueued")
	}
	if used := q.BodyMemoryInUse(); used != 0 {
		t.Errorf("budget in use after every body was consumed = %d, want 0", used)
	}
}
