package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/queue"
)

// HoldReason is the queue's hold reason of report mail awaiting intake.
const HoldReason = "inbound DMARC report"

// Bounds of the intake: what one pass takes on, how long it waits for a
// wake-up before it looks anyway, and what it reads of one message.
const (
	intakeBatch    = 100
	intakePoll     = 30 * time.Second
	maxIntakeBytes = 64 << 20
)

// Intake reads the report mail that smtpd accepted for our report
// addresses. smtpd puts that mail on hold in the queue and records its
// queue ID in the same commit (Record); the intake reads it from the
// queue's spool off the SMTP path, files its reports, then releases it for
// relay (deliver) or, with deliver off, deletes it once its reports are
// kept. Mail that cannot be read stays on hold: it is never lost.
type Intake struct {
	Store     *Store
	Queue     *queue.Queue
	Addresses []string // lower case
	Deliver   bool
	Log       *slog.Logger
	// Share keeps each readable report mail in an outbox for the other
	// instances of a cluster (Store.ShipOutbox).
	Share bool

	wake chan struct{}
}

// NewIntake wires an intake; Run starts it.
func NewIntake(s *Store, q *queue.Queue, addresses []string, deliver bool, log *slog.Logger) *Intake {
	return &Intake{Store: s, Queue: q, Addresses: addresses, Deliver: deliver, Log: log, wake: make(chan struct{}, 1)}
}

// Hold puts mail to a report address on hold until it is read.
func (in *Intake) Hold(rcpts []string) string {
	for _, r := range rcpts {
		for _, a := range in.Addresses {
			if strings.EqualFold(r, a) {
				return HoldReason
			}
		}
	}
	return ""
}

// Record returns the write that marks an accepted message for intake, to
// join the message's own commit; nil when it is not report mail.
func (in *Intake) Record(queueID string, rcpts []string) func(tx *bbolt.Tx) error {
	if queueID == "" || in.Hold(rcpts) == "" {
		return nil
	}
	return func(tx *bbolt.Tx) error {
		tx.OnCommit(in.signal)
		return bucket(tx, pendingBucket).Put([]byte(queueID), nil)
	}
}

func (in *Intake) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Run takes pending mail until ctx ends: at start (what a crash left),
// when woken, and every intakePoll.
func (in *Intake) Run(ctx context.Context) {
	t := time.NewTicker(intakePoll)
	defer t.Stop()
	for {
		// A full batch means more may wait; a few rounds, then the timer.
		for i := 0; i < 10 && ctx.Err() == nil && in.pass(ctx) == intakeBatch; i++ {
		}
		select {
		case <-ctx.Done():
			return
		case <-in.wake:
		case <-t.C:
		}
	}
}

// pass handles up to intakeBatch pending messages; it returns how many.
func (in *Intake) pass(ctx context.Context) int {
	ids, err := in.pending()
	if err != nil {
		in.Log.Error("inbound reports: reading the pending list", "err", err)
		return 0
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return 0
		}
		in.take(ctx, id)
	}
	return len(ids)
}

func (in *Intake) pending() ([]string, error) {
	var ids []string
	err := in.Store.db.View(func(tx *bbolt.Tx) error {
		c := bucket(tx, pendingBucket).Cursor()
		for k, _ := c.First(); k != nil && len(ids) < intakeBatch; k, _ = c.Next() {
			ids = append(ids, string(k))
		}
		return nil
	})
	return ids, err
}

// take reads one message, files its reports and lets it go on.
func (in *Intake) take(ctx context.Context, id string) {
	log := in.Log.With("id", id)
	m, err := in.Queue.Get(id)
	if errors.Is(err, queue.ErrNotFound) || (err == nil && (!m.Held || m.HoldReason != HoldReason)) {
		in.done(ctx, id, log) // released or deleted by hand meanwhile
		return
	}
	if err != nil {
		log.Error("inbound reports: reading the queue entry", "err", err)
		return
	}
	data, err := in.read(id)
	if err != nil {
		log.Error("inbound reports: reading the message", "err", err)
		return
	}
	res, err := in.Store.Ingest(ctx, data, time.Now())
	if err != nil {
		log.Error("inbound reports: storing", "err", err)
		return // left pending: tried again at the next pass
	}
	logResult(log, res)
	if err := in.letGo(id, res); err != nil {
		log.Error("inbound reports: releasing the message", "err", err)
		return
	}
	if in.Share && res.Err == nil {
		in.doneShared(ctx, id, data, log)
		return
	}
	in.done(ctx, id, log)
}

func (in *Intake) read(id string) ([]byte, error) {
	body, err := in.Queue.Body(id)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxIntakeBytes+1))
	if err == nil && len(data) > maxIntakeBytes {
		err = fmt.Errorf("message larger than %d bytes", maxIntakeBytes)
	}
	return data, err
}

// letGo relays the message (deliver), or deletes it once what it said is
// kept; unreadable mail with deliver off stays on hold for the postmaster.
func (in *Intake) letGo(id string, res Result) error {
	switch {
	case in.Deliver:
		return in.Queue.Release(id)
	case res.Err == nil:
		return in.Queue.Delete(id)
	}
	return nil
}

func (in *Intake) done(ctx context.Context, id string, log *slog.Logger) {
	err := in.Store.db.Commit(ctx, func(tx *bbolt.Tx) error {
		return bucket(tx, pendingBucket).Delete([]byte(id))
	})
	if err != nil {
		log.Error("inbound reports: clearing the pending mark", "err", err)
	}
}

// logResult writes one line per report mail: what it held, what became of it.
func logResult(log *slog.Logger, res Result) {
	var b bytes.Buffer
	for i, o := range res.Outcomes {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i < len(res.Domains) {
			b.WriteString(res.Domains[i] + ":")
		}
		b.WriteString(string(o))
	}
	if res.Err != nil {
		log.Warn("inbound report unreadable", "kind", res.Kind, "reason", res.Err.Error())
		return
	}
	log.Info("inbound report", "kind", res.Kind, "outcomes", b.String())
}
