package queue

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"unsafe"
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
