package queue

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dmarcgate/store"
)

// testClock is a settable clock for expiry tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

// testConfig has short timeouts and a retry delay long enough that no
// retry happens by itself during a test (tests Flush instead).
func testConfig(dir string) Config {
	return Config{
		Dir:            dir,
		Hostname:       "mx.test",
		Workers:        4,
		RetryFirst:     time.Hour,
		RetryMax:       4 * time.Hour,
		DialTimeout:    2 * time.Second,
		CommandTimeout: 5 * time.Second,
	}
}

func newQueue(t testing.TB, db *store.DB, cfg Config) *Queue {
	t.Helper()
	q, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func start(t testing.TB, q *Queue) {
	t.Helper()
	q.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
}

func enqueue(t testing.TB, q *Queue, m *Message, body string) string {
	t.Helper()
	b := q.NewBody()
	io.WriteString(b, body)
	id, err := q.Enqueue(context.Background(), m, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitFor polls cond every 10ms for at most timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitEmpty(t testing.TB, q *Queue) {
	t.Helper()
	waitFor(t, 10*time.Second, "an empty queue", func() bool { return q.Stats().Depth == 0 })
}

// parsedDSN is a DSN taken apart with the standard MIME parsers.
type parsedDSN struct {
	header     mail.Header
	reportType string
	human      string
	perMessage textproto.MIMEHeader
	perRcpt    []textproto.MIMEHeader
	origHeader string
}

func parseDSN(t *testing.T, data []byte) parsedDSN {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("DSN is not a message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" {
		t.Fatalf("DSN Content-Type %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	d := parsedDSN{header: msg.Header, reportType: params["report-type"]}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("DSN part: %v", err)
		}
		body, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		switch ct {
		case "text/plain":
			d.human = string(body)
		case "message/delivery-status", "message/global-delivery-status":
			d.perMessage, d.perRcpt = parseStatusFields(t, body)
		case "text/rfc822-headers", "message/global-headers":
			d.origHeader = string(body)
		}
	}
	want := "text/plain,message/delivery-status,text/rfc822-headers"
	if got := strings.Join(types, ","); got != want && !strings.Contains(got, "global") {
		t.Fatalf("DSN parts %s, want %s", got, want)
	}
	return d
}

// parseStatusFields reads RFC 3464 §2.1's blocks: per-message fields,
// then one block per recipient, separated by blank lines.
func parseStatusFields(t *testing.T, body []byte) (textproto.MIMEHeader, []textproto.MIMEHeader) {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	perMessage, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("per-message fields: %v", err)
	}
	var perRcpt []textproto.MIMEHeader
	for i := 0; i < 100; i++ {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			perRcpt = append(perRcpt, h)
		}
		if err != nil {
			break
		}
	}
	return perMessage, perRcpt
}
