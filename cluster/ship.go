package cluster

import (
	"context"

	"github.com/jackc/pgx/v5"

	"dmarcgate/reporting"
)

// Ship stores one closed period of this instance. It is idempotent: a
// period shipped again (after a crash between shipping and forgetting it
// locally) changes nothing, so no message is counted twice.
func (c *Cluster) Ship(ctx context.Context, p reporting.ShippedPeriod) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO dg_agg_periods (instance, begin_at, end_at, domain, policy)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			c.cfg.Instance, p.Begin, p.End, p.Domain, string(p.Policy))
		if err != nil || tag.RowsAffected() == 0 {
			return err // shipped before: its rows are there too
		}
		rows := make([][]any, len(p.Rows))
		for i, r := range p.Rows {
			rows[i] = []any{c.cfg.Instance, p.Begin, p.Domain, r.Hash[:], string(r.Row), r.Count}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"dg_agg_rows"},
			[]string{"instance", "begin_at", "domain", "hash", "row_json", "count"}, pgx.CopyFromRows(rows))
		return err
	})
}

// shipAll ships every closed local period, then records how far this
// instance has shipped: everything that began before closedThrough.
func (c *Cluster) shipAll(ctx context.Context, rep Reports) error {
	n, err := rep.ShipClosed(ctx, c.Ship)
	if err != nil {
		return err
	}
	if n > 0 {
		c.log.Debug("cluster: shipped closed periods", "periods", n)
	}
	_, err = c.pool.Exec(ctx, `UPDATE dg_instances SET closed_through = greatest(closed_through, $2),
		last_ship = now() WHERE name = $1`, c.cfg.Instance, rep.OpenFrom())
	return err
}
