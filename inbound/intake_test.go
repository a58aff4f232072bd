package inbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"dmarcgate/queue"
	"dmarcgate/store"
)

// intakeRig is a store and a real queue (workers not started) on one
// database, as serve wires them.
func intakeRig(t *testing.T, deliver bool) (*Intake, *queue.Queue) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := queue.New(db, queue.Config{Dir: dir, Hostname: "mx.test", RelayAddr: "127.0.0.1:9", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(context.Background(), db, Domains{"example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return NewIntake(s, q, []string{"dmarc@example.com"}, deliver, log), q
}

// enqueue queues report mail as smtpd does: on hold, marked for intake in
// the same commit.
func enqueue(t *testing.T, in *Intake, q *queue.Queue, data []byte) string {
	t.Helper()
	rcpts := []string{"DMARC@example.com"}
	m := &queue.Message{ID: queue.NewID(), Kind: "mail", Route: queue.RouteRelay, From: "r@reporter.test", To: rcpts,
		Received: time.Now(), Held: true, HoldReason: in.Hold(rcpts)}
	if m.HoldReason != HoldReason {
		t.Fatalf("hold reason %q", m.HoldReason)
	}
	body := q.NewBody()
	body.Write(data)
	id, err := q.Enqueue(context.Background(), m, body, in.Record(m.ID, rcpts))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIntakeAfterRestart: mail marked for intake before a stop is read
// at the next start, its report kept, and it is released for relay.
func TestIntakeAfterRestart(t *testing.T) {
	in, q := intakeRig(t, true)
	xml, err := os.ReadFile("../testdata/dmarc-aggregate/samples/parsedmarc/rfc9990-sample.xml")
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, in, q, append([]byte("Content-Type: text/xml\r\n\r\n"), xml...))
	if n := in.pass(context.Background()); n != 1 {
		t.Fatalf("pass took %d messages", n)
	}
	m, err := q.Get(id)
	if err != nil || m.Held {
		t.Fatalf("message after intake: %+v, %v", m, err)
	}
	sum, _ := in.Store.Query("example.com", time.Unix(302832000, 0), time.Unix(302832000, 0))
	if sum.Messages != 123 {
		t.Fatalf("%d messages kept", sum.Messages)
	}
	if ids, _ := in.pending(); len(ids) != 0 {
		t.Fatalf("still pending: %v", ids)
	}
}

// TestIntakeWithoutDelivery: deliver = false deletes mail whose report
// was kept, and keeps unreadable mail on hold.
func TestIntakeWithoutDelivery(t *testing.T) {
	in, q := intakeRig(t, false)
	xml, _ := os.ReadFile("../testdata/dmarc-aggregate/samples/parsedmarc/rfc9990-sample.xml")
	good := enqueue(t, in, q, append([]byte("Content-Type: text/xml\r\n\r\n"), xml...))
	bad := enqueue(t, in, q, append([]byte("Content-Type: text/xml\r\n\r\n"), xml[:len(xml)/2]...))
	in.pass(context.Background())
	if _, err := q.Get(good); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("kept report's mail: %v", err)
	}
	m, err := q.Get(bad)
	if err != nil || !m.Held {
		t.Fatalf("unreadable report's mail: %+v, %v", m, err)
	}
	body, _ := q.Body(bad)
	data, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Contains(data, xml[:100]) {
		t.Errorf("held mail lost its body")
	}
}
