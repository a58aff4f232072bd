package queue

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.etcd.io/bbolt"

	"dmarcgate/smtpsink"
)

const (
	origHeader = "From: Alice <alice@sender.test>\r\nTo: bob@example.test\r\nSubject: hello\r\n"
	origBody   = origHeader + "\r\nHi Bob,\r\nline two\r\n"
)

func TestDeliverKeepsEnvelopeAndBytes(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	q := newQueue(t, db, cfg)

	forged := "Authentication-Results: mx.test; dmarc=pass\r\n"
	body := forged + origBody
	prefix := "Authentication-Results: mx.test; dmarc=fail\r\nReceived: from client.test by mx.test\r\n"
	m := &Message{
		Route: RouteRelay, From: "alice@sender.test", To: []string{"bob@example.test", "carol@example.test"},
		UTF8: true, Body8Bit: true, Prefix: []byte(prefix),
		Omit: []Range{{Start: 0, End: int64(len(forged))}},
	}
	id := enqueue(t, q, m, body)
	if m.ID != id || id == "" {
		t.Fatalf("Enqueue returned %q and set ID %q", id, m.ID)
	}
	stored, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	want := prefix + origBody
	if stored.Size != int64(len(want)) {
		t.Fatalf("Size = %d, want %d", stored.Size, len(want))
	}
	rc, err := q.Body(id)
	if err != nil {
		t.Fatal(err)
	}
	preview, _ := io.ReadAll(rc)
	rc.Close()
	if string(preview) != want {
		t.Fatalf("Body(id) = %q, want %q", preview, want)
	}

	start(t, q)
	got, err := relay.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if string(r.Data) != want {
		t.Errorf("delivered %q\nwant      %q", r.Data, want)
	}
	if r.From != m.From || strings.Join(r.To, ",") != "bob@example.test,carol@example.test" {
		t.Errorf("envelope %q -> %v", r.From, r.To)
	}
	if !r.UTF8 || !r.Body8Bit || r.Size != int64(len(want)) {
		t.Errorf("MAIL parameters UTF8=%v 8BITMIME=%v SIZE=%d", r.UTF8, r.Body8Bit, r.Size)
	}
	waitEmpty(t, q)
	if _, err := q.Get(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("delivered entry still stored: %v", err)
	}
	if _, err := q.Body(id); err == nil {
		t.Errorf("delivered body still readable")
	}
}

func TestLMTPPartialFailure(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{LMTP: true})
	relay.SetDataReply(func(_ string, to []string) *smtp.SMTPError {
		switch to[0] {
		case "gone@example.test":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		case "full@example.test":
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	})
	bounces := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.RelayProtocol, cfg.Smarthost = relay.Addr(), "lmtp", bounces.Addr()
	var mu sync.Mutex
	var failed []string
	cfg.OnPermanentFailure = func(m *Message, rcpt string, err error) {
		mu.Lock()
		failed = append(failed, rcpt)
		mu.Unlock()
	}
	q := newQueue(t, db, cfg)
	start(t, q)
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "alice@sender.test",
		To: []string{"ok@example.test", "gone@example.test", "full@example.test"}}, origBody)

	got, err := relay.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got[0].To, ",") != "ok@example.test" {
		t.Fatalf("delivered to %v, want ok@example.test only", got[0].To)
	}
	dsns, err := bounces.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := parseDSN(t, dsns[0].Data)
	if len(d.perRcpt) != 1 || d.perRcpt[0].Get("Final-Recipient") != "rfc822; gone@example.test" {
		t.Fatalf("DSN recipients %v, want gone@example.test only", d.perRcpt)
	}
	waitFor(t, 5*time.Second, "the deferred recipient to be rescheduled", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts == 1
	})
	m, _ := q.Get(id)
	if strings.Join(m.To, ",") != "full@example.test" || !strings.Contains(m.LastError, "mailbox full") {
		t.Fatalf("entry after attempt: To=%v LastError=%q", m.To, m.LastError)
	}
	if d := m.NextAttempt.Sub(m.Received); d < 50*time.Minute || d > 70*time.Minute {
		t.Errorf("next attempt %v after arrival, want about RetryFirst (1h)", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(failed, ",") != "gone@example.test" {
		t.Errorf("OnPermanentFailure got %v", failed)
	}
}

func TestDownstreamDownThenUp(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	relay.Close()
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	q := newQueue(t, db, cfg)
	start(t, q)
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "alice@sender.test", To: []string{"bob@example.test"}}, origBody)
	waitFor(t, 10*time.Second, "a failed attempt", func() bool {
		m, err := q.Get(id)
		return err == nil && m.Attempts == 1
	})
	if err := relay.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if relay.Count() != 0 {
		t.Fatal("delivered before Flush despite a one-hour retry delay")
	}
	if n := q.Flush(); n != 1 {
		t.Fatalf("Flush() = %d, want 1 deferred entry", n)
	}
	got, err := relay.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Data) != origBody {
		t.Fatalf("delivered %q", got[0].Data)
	}
	waitEmpty(t, q)
}

func TestBounceSendsOneDSN(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	relay.SetReply(func(_ string, to []string) *smtp.SMTPError {
		if strings.HasPrefix(to[0], "bad") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "user unknown"}
		}
		return nil
	})
	bounces := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr, cfg.Smarthost = relay.Addr(), bounces.Addr()
	q := newQueue(t, db, cfg)
	start(t, q)
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "alice@sender.test",
		To: []string{"bad1@example.test", "good@example.test", "bad2@example.test"}}, origBody)

	if _, err := relay.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	dsns, err := bounces.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, q)
	if n := bounces.Count(); n != 1 {
		t.Fatalf("%d DSNs, want exactly 1", n)
	}
	dm := dsns[0]
	if dm.From != "" || strings.Join(dm.To, ",") != "alice@sender.test" {
		t.Fatalf("DSN envelope %q -> %v, want <> -> alice@sender.test", dm.From, dm.To)
	}
	d := parseDSN(t, dm.Data)
	if d.reportType != "delivery-status" {
		t.Errorf("report-type %q", d.reportType)
	}
	if got := d.header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if got := d.perMessage.Get("Reporting-MTA"); got != "dns; mx.test" {
		t.Errorf("Reporting-MTA %q", got)
	}
	if d.perMessage.Get("Arrival-Date") == "" || d.perMessage.Get("X-Queue-Id") != id {
		t.Errorf("per-message fields %v", d.perMessage)
	}
	if len(d.perRcpt) != 2 {
		t.Fatalf("%d recipient blocks, want 2: %v", len(d.perRcpt), d.perRcpt)
	}
	for i, want := range []string{"bad1@example.test", "bad2@example.test"} {
		f := d.perRcpt[i]
		if f.Get("Final-Recipient") != "rfc822; "+want || f.Get("Action") != "failed" || f.Get("Status") != "5.1.1" {
			t.Errorf("recipient block %d: %v", i, f)
		}
		if f.Get("Diagnostic-Code") != "smtp; 550 5.1.1 user unknown" {
			t.Errorf("Diagnostic-Code %q", f.Get("Diagnostic-Code"))
		}
	}
	if d.origHeader != origHeader {
		t.Errorf("original headers %q, want %q", d.origHeader, origHeader)
	}
	if !strings.Contains(d.human, "bad1@example.test") {
		t.Errorf("human part does not name the recipient: %q", d.human)
	}
}

func TestNoDSNForNullSenderOrDSN(t *testing.T) {
	for _, tc := range []struct {
		name, from, kind string
		noDSN            bool
	}{
		{"null sender", "", KindMail, false},
		{"a DSN", "alice@sender.test", KindDSN, false},
		{"NoDSN set", "reports@mx.test", KindReport, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, dir := openDB(t)
			relay := smtpsink.Start(t, smtpsink.Options{})
			relay.SetReply(func(string, []string) *smtp.SMTPError {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "user unknown"}
			})
			bounces := smtpsink.Start(t, smtpsink.Options{})
			cfg := testConfig(dir)
			cfg.RelayAddr, cfg.Smarthost = relay.Addr(), bounces.Addr()
			q := newQueue(t, db, cfg)
			start(t, q)
			enqueue(t, q, &Message{Route: RouteRelay, Kind: tc.kind, From: tc.from, NoDSN: tc.noDSN, To: []string{"bob@example.test"}}, origBody)
			waitFor(t, 10*time.Second, "the refused RCPT", func() bool { return relay.Connections() > 0 })
			waitEmpty(t, q)
			time.Sleep(50 * time.Millisecond)
			if bounces.Count() != 0 || bounces.Connections() != 0 {
				t.Fatalf("a DSN was sent")
			}
			if l, _ := q.List(); len(l) != 0 {
				t.Fatalf("entries left: %v", l)
			}
		})
	}
}

func TestResumeAfterRestart(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	first := newQueue(t, db, cfg)
	id := enqueue(t, first, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, origBody)
	big := enqueue(t, first, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"c@example.test"}},
		bigBody(2*memoryLimit))
	// A spool file left by a crash between its fsync and the commit.
	stray := first.spoolPath("stray")
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	second := newQueue(t, db, cfg)
	if s := second.Stats(); s.Depth != 2 {
		t.Fatalf("reopened queue has %d entries, want 2", s.Depth)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("orphan spool file kept: %v", err)
	}
	if _, err := os.Stat(second.spoolPath(big)); err != nil {
		t.Errorf("spool file of a live entry removed: %v", err)
	}
	if next := ids.next(time.Unix(0, 0)); next <= big || next <= id {
		t.Errorf("new ID %s does not sort after existing %s, %s", next, id, big)
	}
	start(t, second)
	if _, err := relay.Wait(2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, second)
}

func TestConcurrentEnqueueSharesCommits(t *testing.T) {
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	const n = 50
	before := db.Commits()
	var wg sync.WaitGroup
	gate := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := q.NewBody()
			io.WriteString(b, origBody)
			<-gate
			_, err := q.Enqueue(context.Background(), &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, b, nil)
			errs <- err
		}()
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	commits := db.Commits() - before
	if commits >= n {
		t.Fatalf("%d commits for %d messages: no group commit", commits, n)
	}
	if s := q.Stats(); s.Depth != n {
		t.Fatalf("depth %d, want %d", s.Depth, n)
	}
	t.Logf("%d messages in %d commits", n, commits)
}

func TestLargeBodySpillsAndArrivesIntact(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	q := newQueue(t, db, cfg)

	var want bytes.Buffer
	want.WriteString(origHeader + "\r\n")
	for i := 0; want.Len() < 3<<20; i++ {
		want.WriteString(strings.Repeat(string(rune('a'+i%26)), 76) + "\r\n")
	}
	b := q.NewBody()
	for chunk := range slicesChunk(want.Bytes(), 4096) {
		// In memory it holds everything so far (the DKIM verifier reads it).
		if inMemory := b.Len() <= memoryLimit; inMemory != (b.Bytes() != nil) ||
			inMemory && !bytes.Equal(b.Bytes(), want.Bytes()[:b.Len()]) {
			t.Fatalf("Bytes after %d bytes: %d bytes held", b.Len(), len(b.Bytes()))
		}
		if _, err := b.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if b.Bytes() != nil {
		t.Fatal("Bytes of a spilled body is not nil")
	}
	id, err := q.Enqueue(context.Background(), &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(q.spoolPath(id))
	if err != nil || st.Size() != int64(want.Len()) {
		t.Fatalf("spool file: %v, size %v, want %d", err, st, want.Len())
	}
	start(t, q)
	got, err := relay.Wait(1, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0].Data, want.Bytes()) {
		t.Fatalf("body of %d bytes arrived as %d bytes, not identical", want.Len(), len(got[0].Data))
	}
	waitEmpty(t, q)
	if _, err := os.Stat(q.spoolPath(id)); !os.IsNotExist(err) {
		t.Fatalf("spool file kept after delivery: %v", err)
	}
}

// bigBody is a message of at least n bytes in 78-byte lines.
func bigBody(n int) string {
	var b strings.Builder
	b.WriteString(origHeader + "\r\n")
	for b.Len() < n {
		b.WriteString(strings.Repeat("x", 76) + "\r\n")
	}
	return b.String()
}

func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			k := min(n, len(b))
			if !yield(b[:k]) {
				return
			}
			b = b[k:]
		}
	}
}

func TestHeldUntilRelease(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	q := newQueue(t, db, cfg)
	start(t, q)
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"},
		Held: true, HoldReason: "dmarc quarantine"}, origBody)
	q.Flush()
	time.Sleep(200 * time.Millisecond)
	if relay.Connections() != 0 {
		t.Fatal("held entry was delivered")
	}
	if s := q.Stats(); s.Held != 1 || s.Depth != 0 {
		t.Fatalf("Stats %+v, want 1 held and none queued", s)
	}
	held, err := q.ListHeld()
	if err != nil || len(held) != 1 || held[0].HoldReason != "dmarc quarantine" {
		t.Fatalf("ListHeld = %v, %v", held, err)
	}
	if err := q.Release(id); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, q)
	if err := q.Release(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Release of a gone entry: %v", err)
	}
}

func TestDeleteRemovesEntryAndSpool(t *testing.T) {
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}},
		bigBody(memoryLimit+1))
	if err := q.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q.spoolPath(id)); !os.IsNotExist(err) {
		t.Errorf("spool file kept: %v", err)
	}
	if l, _ := q.List(); len(l) != 0 || q.Stats().Depth != 0 {
		t.Errorf("entry kept: %v", l)
	}
	if err := q.Delete(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
}

func TestEnqueueRefusesBadInput(t *testing.T) {
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	cases := map[string]*Message{
		"no recipients":  {Route: RouteRelay, From: "a@x.test"},
		"bad route":      {Route: "elsewhere", From: "a@x.test", To: []string{"b@y.test"}},
		"CRLF in sender": {Route: RouteRelay, From: "a@x.test\r\nRCPT TO:<c@z.test>", To: []string{"b@y.test"}},
		"no domain":      {Route: RouteRelay, From: "a@x.test", To: []string{"postmaster"}},
		"omit past end":  {Route: RouteRelay, From: "a@x.test", To: []string{"b@y.test"}, Omit: []Range{{0, 1 << 20}}},
		"made-up ID":     {ID: "../../etc", Route: RouteRelay, From: "a@x.test", To: []string{"b@y.test"}},
		"bad smarthost":  {Route: RouteOutbound, From: "a@x.test", To: []string{"b@y.test"}, Smarthost: "no-port"},
	}
	for name, m := range cases {
		b := q.NewBody()
		io.WriteString(b, origBody)
		if _, err := q.Enqueue(context.Background(), m, b, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if q.Stats().Depth != 0 {
		t.Fatal("a refused message was stored")
	}
}

func TestEnqueueExtraSharesTheCommit(t *testing.T) {
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	boom := errors.New("extra failed")
	b := q.NewBody()
	io.WriteString(b, bigBody(memoryLimit+10)) // spilled: its file must go too
	_, err := q.Enqueue(context.Background(), &Message{Route: RouteRelay, From: "a@x.test", To: []string{"b@y.test"}}, b,
		func(*bbolt.Tx) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the extra's error", err)
	}
	if q.Stats().Depth != 0 {
		t.Fatal("entry stored although extra failed")
	}
	files, _ := os.ReadDir(q.spoolDir)
	if len(files) != 0 {
		t.Fatalf("spool files left: %v", files)
	}
}

func TestStopIsBoundedByContext(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	release := make(chan struct{})
	relay.SetReply(func(string, []string) *smtp.SMTPError { <-release; return nil })
	defer close(release)
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	q := newQueue(t, db, cfg)
	q.Start(context.Background())
	id := enqueue(t, q, &Message{Route: RouteRelay, From: "a@x.test", To: []string{"b@y.test"}}, origBody)
	waitFor(t, 5*time.Second, "the delivery to start", func() bool { return relay.Connections() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if err := q.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	waitFor(t, 5*time.Second, "the interrupted attempt to be recorded", func() bool {
		m, err := q.Get(id)
		return err == nil && m.LastError != ""
	})
	m, _ := q.Get(id)
	if m.Attempts != 0 || m.NextAttempt.After(time.Now()) {
		t.Fatalf("interrupted attempt counted: attempts %d, next %v", m.Attempts, m.NextAttempt)
	}
}

func TestPresetIDAndPerMessageSmarthost(t *testing.T) {
	db, dir := openDB(t)
	global := smtpsink.Start(t, smtpsink.Options{})
	reports := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.Smarthost = global.Addr()
	q := newQueue(t, db, cfg)
	want := NewID()
	id := enqueue(t, q, &Message{ID: want, Route: RouteOutbound, Kind: KindReport, From: "r@mx.test",
		To: []string{"dmarc@example.test"}, Smarthost: reports.Addr()}, origBody)
	if id != want {
		t.Fatalf("Enqueue assigned %s, want the preset %s", id, want)
	}
	if _, err := q.Enqueue(context.Background(), &Message{ID: want, Route: RouteRelay, From: "a@x.test", To: []string{"b@y.test"}}, nil, nil); err == nil {
		t.Fatal("a duplicate ID was accepted")
	}
	if err := q.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := reports.Wait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if global.Connections() != 0 {
		t.Fatal("the message's own smarthost was ignored")
	}
}

// A message enqueued while a worker waits goes to that worker with the
// body still in memory; one enqueued while none runs is read back from the
// database when its turn comes. The stored copy is overwritten here (in
// the same commit) so that the delivered bytes show which was used.
func TestFreshEntryHandedToIdleWorker(t *testing.T) {
	db, dir := openDB(t)
	relay := smtpsink.Start(t, smtpsink.Options{})
	cfg := testConfig(dir)
	cfg.RelayAddr = relay.Addr()
	cfg.Workers = 1
	q := newQueue(t, db, cfg)
	const stored = "Subject: stored\r\n\r\nread back from the database\r\n"
	send := func(body string) string {
		t.Helper()
		b := q.NewBody()
		io.WriteString(b, body)
		m := &Message{ID: NewID(), Route: RouteRelay, From: "a@x.test", To: []string{"b@y.test"}}
		_, err := q.Enqueue(context.Background(), m, b, func(tx *bbolt.Tx) error {
			return tx.Bucket(bodyBucket).Put([]byte(m.ID), []byte(stored))
		})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}

	// No worker yet: the schedule, then the database.
	send(origBody)
	start(t, q)
	got, err := relay.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Data) != stored {
		t.Fatalf("entry enqueued before Start delivered %q, want the stored copy", got[0].Data)
	}
	waitEmpty(t, q)

	// The worker is idle now. It may not be waiting yet at the very
	// first try; one of a few tries must find it.
	const tries = 20
	fromMemory := 0
	for i := range tries {
		send(origBody)
		got, err := relay.Wait(2+i, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		switch string(got[1+i].Data) {
		case origBody:
			fromMemory++
		case stored:
		default:
			t.Fatalf("delivered %q", got[1+i].Data)
		}
		waitEmpty(t, q)
		if fromMemory >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fromMemory < 3 {
		t.Fatalf("%d of up to %d messages enqueued with the worker idle were handed over in memory", fromMemory, tries)
	}
	if d := q.Stats().Depth; d != 0 {
		t.Errorf("%d entries left", d)
	}
}

// Bare CRs and LFs reach the downstream as CRLF, over DATA (LMTP) and BDAT
// alike: a sequence a lenient server could take for the end of data
// arrives as a dot-stuffed line inside the one message (SMTP smuggling).
func TestBareLineEndsRelayedAsCRLF(t *testing.T) {
	const smuggled = "Subject: x\r\n\r\nhello\r.\r\nMAIL FROM:<ceo@victim.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" +
		"bye\n.\nQUIT\r\nlast\r"
	const want = "Subject: x\r\n\r\nhello\r\n.\r\nMAIL FROM:<ceo@victim.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" +
		"bye\r\n.\r\nQUIT\r\nlast\r\n"
	for _, lmtp := range []bool{false, true} {
		t.Run(map[bool]string{false: "BDAT", true: "LMTP DATA"}[lmtp], func(t *testing.T) {
			db, dir := openDB(t)
			relay := smtpsink.Start(t, smtpsink.Options{LMTP: lmtp})
			cfg := testConfig(dir)
			cfg.RelayAddr = relay.Addr()
			if lmtp {
				cfg.RelayProtocol = "lmtp"
			}
			q := newQueue(t, db, cfg)
			enqueue(t, q, &Message{Route: RouteRelay, From: "a@sender.test", To: []string{"b@example.test"}}, smuggled)
			start(t, q)
			got, err := relay.Wait(1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			waitEmpty(t, q)
			if n := len(relay.Messages()); n != 1 || string(got[0].Data) != want {
				t.Errorf("%d messages; delivered %q\nwant %q", n, got[0].Data, want)
			}
		})
	}
}
