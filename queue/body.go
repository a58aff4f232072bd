package queue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"go.etcd.io/bbolt"
)

// memoryLimit is the most a Body keeps in memory; past it, the whole body
// goes to a spool file, so memory per message stays bounded.
const memoryLimit = 1 << 20

// MemoryKept is what every Body may hold in memory on its own. Beyond it,
// up to memoryLimit, bodies share Config.BodyMemory, and one that cannot
// get its share goes to a spool file. So a body still in memory after
// Expect keeps its first MemoryKept bytes in memory until it is enqueued
// or aborted: the DKIM verifier reads a small signed message back from
// there (auth.SyncVerifyLimit must not exceed it).
const MemoryKept = 256 << 10

// minReserve is the least a body reserves of the shared budget at a time,
// so that a message written in pieces does not reserve at each.
const minReserve = 64 << 10

// spoolTempPrefix names spool files not yet committed; any left by a crash
// are removed by New.
const spoolTempPrefix = "tmp-"

var errBodyUsed = errors.New("queue: body already enqueued or aborted")

// Body collects a message body before Enqueue. Small bodies stay in memory
// and are committed inside the database with their entry (sharing the
// group commit's fsync); large ones spill to a file in the spool directory.
type Body struct {
	dir    string
	budget *memoryBudget
	held   int64 // bytes of budget reserved for buf beyond MemoryKept
	spool  *memoryBudget
	onDisk int64 // bytes of spool charged to spool
	buf    []byte
	file   *os.File
	w      *bufio.Writer
	n      int64
	err    error
	used   bool
}

// NewBody returns an empty body to write the message into.
func (q *Queue) NewBody() *Body { return &Body{dir: q.spoolDir, budget: q.memory, spool: q.spool} }

// Expect prepares for a body of about size bytes, as announced with
// SIZE= at MAIL (RFC 1870): one that fits in memory (and in the shared
// budget) gets its buffer at once instead of growing it by copies; any
// other goes to a spool file from its first byte. It is only a hint: the
// body may still turn out either way. Call it before the first Write.
func (b *Body) Expect(size int64) {
	if b.used || b.err != nil || b.n > 0 || b.file != nil || size <= 0 {
		return
	}
	// A little room for an estimate that falls short.
	want := min(size+size/32+1024, memoryLimit)
	switch {
	case size > memoryLimit:
		b.err = b.spill("size")
		return
	case !b.reserve(want):
		b.err = b.spill("memory")
		return
	}
	b.buf = make([]byte, 0, want)
}

// reserve makes sure the body may hold n bytes in memory; false when the
// shared budget cannot spare what n needs beyond MemoryKept.
func (b *Body) reserve(n int64) bool {
	extra := n - MemoryKept
	if extra <= b.held || b.budget == nil {
		return true
	}
	more := min(max(extra, 2*b.held, minReserve), memoryLimit-MemoryKept) - b.held
	if !b.budget.take(more) {
		more = extra - b.held
		if !b.budget.take(more) {
			return false
		}
	}
	b.held += more
	return true
}

// release gives the body's reservation back; the body's memory is no
// longer counted (it is in a file, discarded, or committed).
func (b *Body) release() {
	if b.budget != nil && b.held > 0 {
		b.budget.give(b.held)
	}
	b.held = 0
}

// Write appends p to the body.
func (b *Body) Write(p []byte) (int, error) {
	if b.used {
		return 0, errBodyUsed
	}
	if b.err != nil {
		return 0, b.err
	}
	if need := b.n + int64(len(p)); b.file == nil && (need > memoryLimit || !b.reserve(need)) {
		reason := "size"
		if need <= memoryLimit {
			reason = "memory"
		}
		if b.err = b.spill(reason); b.err != nil {
			return 0, b.err
		}
	}
	if b.file == nil {
		b.buf = append(b.buf, p...)
		b.n += int64(len(p))
		return len(p), nil
	}
	if b.err = b.chargeSpool(int64(len(p))); b.err != nil {
		return 0, b.err
	}
	n, err := b.w.Write(p)
	b.n += int64(n)
	if err != nil {
		b.err = fmt.Errorf("queue: writing spool file: %w", err)
	}
	return n, b.err
}

// Slice copies up to n bytes of the body from offset off, before it is
// enqueued or aborted (failure reports with include_body read it so); nil
// when there is nothing there or the body can no longer be read.
func (b *Body) Slice(off int64, n int) []byte {
	if b.used || b.err != nil || off < 0 || off >= b.n || n <= 0 {
		return nil
	}
	n = int(min(int64(n), b.n-off))
	if b.file == nil {
		return append([]byte(nil), b.buf[off:off+int64(n)]...)
	}
	if err := b.w.Flush(); err != nil {
		return nil
	}
	out := make([]byte, n)
	if _, err := b.file.ReadAt(out, off); err != nil {
		return nil
	}
	return out
}

// Bytes returns the body written so far while it is held in memory (the
// first 1 MiB at least), nil once it went to a spool file or was used. It
// is the Body's own buffer, valid until the next Write: no copy.
func (b *Body) Bytes() []byte {
	if b.file != nil || b.used {
		return nil
	}
	if b.buf == nil {
		return []byte{} // empty, but held
	}
	return b.buf
}

// Len is the number of bytes written so far.
func (b *Body) Len() int64 { return b.n }

// Abort discards the body and removes any spool file.
func (b *Body) Abort() {
	if b.used {
		return
	}
	b.used = true
	b.buf = nil
	b.release()
	b.releaseSpool()
	if b.file != nil {
		b.file.Close()
		os.Remove(b.file.Name())
	}
}

// spill moves the body to a spool file, for reason (a metric label).
func (b *Body) spill(reason string) error {
	bodiesSpooled.WithLabelValues(reason).Inc()
	f, err := os.CreateTemp(b.dir, spoolTempPrefix+"*")
	if err != nil {
		return fmt.Errorf("queue: creating spool file: %w", err)
	}
	b.file = f
	b.w = bufio.NewWriterSize(f, 64<<10)
	if err := b.chargeSpool(int64(len(b.buf))); err != nil {
		return err
	}
	if _, err := b.w.Write(b.buf); err != nil {
		return fmt.Errorf("queue: writing spool file: %w", err)
	}
	b.buf = nil
	b.release()
	return nil
}

// seal makes a spilled body durable as spool/<id> (file and directory
// fsync'd) and returns its path; an in-memory body needs nothing here.
// After seal the Body can no longer be written or aborted.
func (b *Body) seal(id string) (path string, err error) {
	if b.used {
		return "", errBodyUsed
	}
	if b.err != nil {
		b.Abort()
		return "", b.err
	}
	b.used = true
	defer b.releaseSpool() // committed or removed: no longer in flight
	if b.file == nil {
		return "", nil
	}
	tmp := b.file.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := b.w.Flush(); err != nil {
		b.file.Close()
		return "", fmt.Errorf("queue: writing spool file: %w", err)
	}
	if err := b.file.Sync(); err != nil {
		b.file.Close()
		return "", fmt.Errorf("queue: fsync spool file: %w", err)
	}
	if err := b.file.Close(); err != nil {
		return "", fmt.Errorf("queue: closing spool file: %w", err)
	}
	path = filepath.Join(b.dir, id)
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("queue: naming spool file: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("queue: fsync spool directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("queue: fsync spool directory: %w", err)
	}
	return nil
}

// storedBody is a body read back for delivery.
type storedBody struct {
	io.ReaderAt
	size  int64
	close func() error
}

// bodyBuffers recycles the copies of in-database bodies, one per delivery.
var bodyBuffers sync.Pool

// maxPooledBody keeps unusually large copies out of bodyBuffers.
const maxPooledBody = 256 << 10

// openBody returns the stored body of rec: a copy out of the database or
// the spool file.
func (q *Queue) openBody(rec *record) (*storedBody, error) {
	if rec.Spooled {
		return q.openSpooled(rec)
	}
	var body *storedBody
	err := q.db.View(func(tx *bbolt.Tx) (err error) {
		body, err = copyBody(tx, rec)
		return err
	})
	return body, err
}

// copyBody copies rec's body out of the database: bbolt values are valid
// only inside their transaction, and a delivery must not hold one open.
func copyBody(tx *bbolt.Tx, rec *record) (*storedBody, error) {
	v := tx.Bucket(bodyBucket).Get([]byte(rec.ID))
	// bbolt may return nil for an empty value: only an empty body may be absent.
	if v == nil && rec.Size != int64(len(rec.Prefix)) {
		return nil, fmt.Errorf("queue: body of %s missing", rec.ID)
	}
	buf, _ := bodyBuffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = append((*buf)[:0], v...)
	release := func() error {
		if cap(*buf) <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
		return nil
	}
	return &storedBody{ReaderAt: inlineBody(*buf), size: int64(len(*buf)), close: release}, nil
}

// inMemoryBody is a body that never left memory (a fresh entry's).
func inMemoryBody(b []byte) *storedBody {
	return &storedBody{ReaderAt: inlineBody(b), size: int64(len(b)), close: func() error { return nil }}
}

func (q *Queue) openSpooled(rec *record) (*storedBody, error) {
	f, err := os.Open(q.spoolPath(rec.ID))
	if err != nil {
		return nil, fmt.Errorf("queue: opening body of %s: %w", rec.ID, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: opening body of %s: %w", rec.ID, err)
	}
	return &storedBody{ReaderAt: f, size: st.Size(), close: f.Close}, nil
}

// inlineBody is a body held in memory.
type inlineBody []byte

func (b inlineBody) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(b).ReadAt(p, off)
}

// deliveredReader yields the message as delivered: prefix, then the body
// without the omitted ranges (which are sorted and merged).
func deliveredReader(prefix []byte, body io.ReaderAt, size int64, omit []Range) io.Reader {
	parts := make(partsReader, 0, 2+len(omit))
	parts = append(parts, bytes.NewReader(prefix))
	var pos int64
	for _, r := range omit {
		if r.Start > pos {
			parts = append(parts, section(body, pos, r.Start-pos))
		}
		pos = max(pos, r.End)
	}
	if pos < size {
		parts = append(parts, section(body, pos, size-pos))
	}
	return &parts
}

// section is n bytes of body from off; a slice of an in-memory body, which
// writes itself out without a copy buffer.
func section(body io.ReaderAt, off, n int64) io.Reader {
	if b, ok := body.(inlineBody); ok {
		return bytes.NewReader(b[min(off, int64(len(b))):min(off+n, int64(len(b)))])
	}
	return io.NewSectionReader(body, off, n)
}

// partsReader reads its parts one after the other like io.MultiReader, but
// its WriteTo allocates no copy buffer for parts that write themselves.
type partsReader []io.Reader

func (r *partsReader) Read(p []byte) (int, error) {
	for len(*r) > 0 {
		n, err := (*r)[0].Read(p)
		if err == io.EOF {
			*r = (*r)[1:]
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.EOF
}

func (r *partsReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	var buf []byte
	for len(*r) > 0 {
		part := (*r)[0]
		var n int64
		var err error
		if wt, ok := part.(io.WriterTo); ok {
			n, err = wt.WriteTo(w)
		} else {
			if buf == nil {
				buf = make([]byte, 32<<10)
			}
			n, err = io.CopyBuffer(onlyWriter{w}, part, buf)
		}
		total += n
		if err != nil {
			return total, err
		}
		*r = (*r)[1:]
	}
	return total, nil
}

// onlyWriter hides any ReadFrom of w, so that io.CopyBuffer uses its buffer.
type onlyWriter struct{ io.Writer }

// deliveredSize is the size of what deliveredReader yields.
func deliveredSize(prefix []byte, size int64, omit []Range) int64 {
	n := int64(len(prefix)) + size
	for _, r := range omit {
		n -= min(r.End, size) - min(r.Start, size)
	}
	return n
}
