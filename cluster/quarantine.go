package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The quarantine index: held messages stay in the spool of the instance
// that took them; the index (who holds what) is shared, and a release or
// delete asked on another instance is carried out by the holder.

// HeldMessage is one held message as the index shows it.
type HeldMessage struct {
	ID, Instance  string
	MailFrom      string
	From, Subject string // header fields, already made safe to show
	Received      time.Time
	Size          int64
}

// Held is this instance's quarantine.
type Held interface {
	// ListHeld lists the messages held here.
	ListHeld() ([]HeldMessage, error)
	// ActOnHeld releases ("release") or deletes ("delete") a message held
	// here for an instance that asked; it returns what was done.
	ActOnHeld(ctx context.Context, id, action, by string) (string, error)
}

// syncHeld publishes this instance's held messages and carries out the
// actions others asked for.
func (c *Cluster) syncHeld(ctx context.Context, held Held) error {
	msgs, err := held.ListHeld()
	if err != nil {
		return err
	}
	if err := c.publishHeld(ctx, msgs); err != nil {
		return err
	}
	return c.runHeldActions(ctx, held)
}

func (c *Cluster) publishHeld(ctx context.Context, msgs []HeldMessage) error {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM dg_held WHERE instance = $1 AND NOT (queue_id = ANY($2))`, c.cfg.Instance, ids); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, m := range msgs {
			b.Queue(`INSERT INTO dg_held (queue_id, instance, mail_from, from_header, subject, received_at, size)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (queue_id) DO NOTHING`,
				m.ID, c.cfg.Instance, m.MailFrom, m.From, m.Subject, m.Received, m.Size)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

func (c *Cluster) runHeldActions(ctx context.Context, held Held) error {
	rows, err := c.pool.Query(ctx, `SELECT queue_id, action, requested_by FROM dg_held_actions
		WHERE instance = $1 AND done_at IS NULL`, c.cfg.Instance)
	if err != nil {
		return err
	}
	type action struct{ id, what, by string }
	todo, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (action, error) {
		var a action
		return a, row.Scan(&a.id, &a.what, &a.by)
	})
	if err != nil {
		return err
	}
	for _, a := range todo {
		result, err := held.ActOnHeld(ctx, a.id, a.what, a.by)
		if err != nil {
			result = "error: " + err.Error()
		}
		if _, err := c.pool.Exec(ctx, `UPDATE dg_held_actions SET done_at = now(), result = $2 WHERE queue_id = $1`, a.id, result); err != nil {
			return err
		}
		if err == nil && result != "" {
			c.pool.Exec(ctx, `DELETE FROM dg_held WHERE queue_id = $1 AND instance = $2`, a.id, c.cfg.Instance)
		}
	}
	return nil
}

// ListHeld lists the held messages of every instance, oldest first.
func (c *Cluster) ListHeld(ctx context.Context) ([]HeldMessage, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := c.pool.Query(ctx, `SELECT queue_id, instance, mail_from, from_header, subject, received_at, size
		FROM dg_held ORDER BY received_at, queue_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (HeldMessage, error) {
		var m HeldMessage
		return m, row.Scan(&m.ID, &m.Instance, &m.MailFrom, &m.From, &m.Subject, &m.Received, &m.Size)
	})
}

// ErrNoHeld: no instance holds a message of that ID.
var ErrNoHeld = errors.New("cluster: no held message")

// HeldBy names the instance that holds id.
func (c *Cluster) HeldBy(ctx context.Context, id string) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	var inst string
	err := c.pool.QueryRow(ctx, `SELECT instance FROM dg_held WHERE queue_id = $1`, id).Scan(&inst)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w %s", ErrNoHeld, id)
	}
	return inst, err
}

// AskHeld asks the instance holding id to release or delete it and waits
// (until ctx ends) for the answer.
func (c *Cluster) AskHeld(ctx context.Context, id, action string) (string, error) {
	inst, err := c.HeldBy(ctx, id)
	if err != nil {
		return "", err
	}
	_, err = c.pool.Exec(ctx, `INSERT INTO dg_held_actions (queue_id, instance, action, requested_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (queue_id) DO UPDATE SET action = EXCLUDED.action, requested_by = EXCLUDED.requested_by,
		requested_at = now(), done_at = NULL, result = NULL`, id, inst, action, c.cfg.Instance)
	if err != nil {
		return "", err
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		var result *string
		if err := c.pool.QueryRow(ctx, `SELECT result FROM dg_held_actions WHERE queue_id = $1 AND done_at IS NOT NULL`, id).Scan(&result); err == nil && result != nil {
			return fmt.Sprintf("%s (on %s)", *result, inst), nil
		} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("cluster: %s did not answer in time (is it running?); the request stays and is carried out when it is", inst)
		case <-t.C:
		}
	}
}
