package cluster

import (
	"context"
	"crypto/sha256"

	"github.com/jackc/pgx/v5"
)

// Inbound is this instance's store of the reports others send about our
// domains (inbound.Store): report mail reaches one MX host, and every
// instance files it.
type Inbound interface {
	// ShipOutbox hands over the report mail this instance took.
	ShipOutbox(ctx context.Context, ship func(context.Context, []byte) error) (int, error)
	// IngestShared files report mail another instance took; filing the
	// same report twice keeps it once.
	IngestShared(ctx context.Context, data []byte) error
}

// inboundBatch bounds the report mail one tick pulls.
const inboundBatch = 200

// syncInbound ships this instance's report mail and files the others'.
func (c *Cluster) syncInbound(ctx context.Context, in Inbound) error {
	if _, err := in.ShipOutbox(ctx, c.shipInbound); err != nil {
		return err
	}
	var last int64
	err := c.pool.QueryRow(ctx, `SELECT coalesce((SELECT last_id FROM dg_inbound_cursor WHERE instance = $1), 0)`, c.cfg.Instance).Scan(&last)
	if err != nil {
		return err
	}
	rows, err := c.pool.Query(ctx, `SELECT id, data FROM dg_inbound_mail WHERE id > $1 AND instance <> $2 ORDER BY id LIMIT $3`,
		last, c.cfg.Instance, inboundBatch)
	if err != nil {
		return err
	}
	type mail struct {
		id   int64
		data []byte
	}
	mails, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (mail, error) {
		var m mail
		return m, row.Scan(&m.id, &m.data)
	})
	if err != nil || len(mails) == 0 {
		return err
	}
	for _, m := range mails {
		if err := in.IngestShared(ctx, m.data); err != nil {
			return err
		}
		last = m.id
	}
	_, err = c.pool.Exec(ctx, `INSERT INTO dg_inbound_cursor (instance, last_id) VALUES ($1, $2)
		ON CONFLICT (instance) DO UPDATE SET last_id = greatest(dg_inbound_cursor.last_id, EXCLUDED.last_id)`, c.cfg.Instance, last)
	if err == nil {
		c.log.Info("cluster: filed report mail taken by other instances", "mails", len(mails))
	}
	return err
}

// shipInbound stores one report mail once (by its digest), however often
// it is shipped. Mail older than a week is pruned: an instance down for
// longer misses it.
func (c *Cluster) shipInbound(ctx context.Context, data []byte) error {
	sum := sha256.Sum256(data)
	_, err := c.pool.Exec(ctx, `INSERT INTO dg_inbound_mail (instance, digest, data) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING`,
		c.cfg.Instance, sum[:], data)
	if err != nil {
		return err
	}
	_, err = c.pool.Exec(ctx, `DELETE FROM dg_inbound_mail WHERE shipped_at < now() - interval '7 days'`)
	return err
}
