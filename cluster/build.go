package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"dmarcgate/reporting"
)

// A cut ends a report period for every instance: the aligned boundaries
// (midnight UTC for 24h) and the moments someone ran `reports send`.
// Each instance closes its open period at every cut it sees and ships
// it; the sender builds the reports of a cut once every live instance
// has shipped through it, or ShipGrace after the cut was made.

// RequestCut asks every instance to close its open period now; it
// returns the cut (Unix seconds, PostgreSQL's clock).
func (c *Cluster) RequestCut(ctx context.Context) (int64, error) {
	if err := c.ready(ctx); err != nil {
		return 0, err
	}
	var cut int64
	err := c.pool.QueryRow(ctx, `INSERT INTO dg_cuts (cut) VALUES (floor(extract(epoch FROM now()))::bigint)
		ON CONFLICT (cut) DO UPDATE SET cut = EXCLUDED.cut RETURNING cut`).Scan(&cut)
	return cut, err
}

// addCut records an aligned boundary as a cut (once).
func (c *Cluster) addCut(ctx context.Context, cut int64) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO dg_cuts (cut) VALUES ($1) ON CONFLICT DO NOTHING`, cut)
	return err
}

// latestCut is the newest cut that has come (0: none).
func (c *Cluster) latestCut(ctx context.Context) (int64, error) {
	var cut int64
	err := c.pool.QueryRow(ctx, `SELECT coalesce(max(cut), 0) FROM dg_cuts
		WHERE cut <= floor(extract(epoch FROM now()))`).Scan(&cut)
	return cut, err
}

// CutBuilt reports whether the reports of cut have been built.
func (c *Cluster) CutBuilt(ctx context.Context, cut int64) (bool, error) {
	var built bool
	err := c.pool.QueryRow(ctx, `SELECT built_at IS NOT NULL FROM dg_cuts WHERE cut = $1`, cut).Scan(&built)
	return built, err
}

// buildDue builds the reports of every cut whose rows are in.
func (c *Cluster) buildDue(ctx context.Context, rep Reports) error {
	rows, err := c.pool.Query(ctx, `SELECT cut FROM dg_cuts WHERE built_at IS NULL AND cut <= floor(extract(epoch FROM now()))
		AND (created_at + make_interval(secs => $1) <= now() OR NOT EXISTS (
			SELECT 1 FROM dg_instances WHERE seen_at > now() - make_interval(secs => $2) AND closed_through < cut))
		ORDER BY cut`, c.cfg.ShipGrace.Seconds(), c.cfg.LiveAfter.Seconds())
	if err != nil {
		return err
	}
	cuts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, cut := range cuts {
		if err := c.buildCut(ctx, rep, cut); err != nil {
			return err
		}
	}
	return nil
}

// buildCut builds one report per domain from the rows shipped before cut
// and not yet reported, then marks the cut built.
func (c *Cluster) buildCut(ctx context.Context, rep Reports, cut int64) error {
	rows, err := c.pool.Query(ctx, `SELECT DISTINCT domain FROM dg_agg_periods WHERE report_id IS NULL AND begin_at < $1`, cut)
	if err != nil {
		return err
	}
	domains, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, d := range domains {
		if err := c.buildReport(ctx, rep, cut, d); err != nil {
			return fmt.Errorf("cluster: building the report of %s: %w", d, err)
		}
	}
	_, err = c.pool.Exec(ctx, `UPDATE dg_cuts SET built_at = now() WHERE cut = $1 AND built_at IS NULL`, cut)
	return err
}

// buildReport builds domain's report of cut in one transaction: its rows
// are claimed by the report there, so a report is built once however many
// senders try, and its id and bytes never change afterwards.
func (c *Cluster) buildReport(ctx context.Context, rep Reports, cut int64, domain string) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM dg_cuts WHERE cut = $1 FOR UPDATE`, cut); err != nil {
			return err
		}
		var begin, end int64
		var policy string
		err := tx.QueryRow(ctx, `SELECT min(begin_at) OVER (), end_at, policy FROM dg_agg_periods
			WHERE domain = $1 AND report_id IS NULL AND begin_at < $2 ORDER BY end_at DESC LIMIT 1`,
			domain, cut).Scan(&begin, &end, &policy)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // built by another sender meanwhile
		}
		if err != nil {
			return err
		}
		shipped, err := shippedRows(ctx, tx, domain, cut)
		if err != nil {
			return err
		}
		id, err := rep.ReportID(begin, domain)
		if err != nil {
			return err
		}
		r := &reporting.ClusterReport{ID: id, Domain: domain, Begin: begin, End: max(end, cut-1), Policy: []byte(policy)}
		if err := rep.RenderShipped(r, shipped); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dg_agg_reports (report_id, domain, cut, begin_at, end_at, policy, gz, rows, messages)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, domain, cut, r.Begin, r.End, policy, r.GZ, r.Rows, r.Messages); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE dg_agg_periods SET report_id = $1 WHERE domain = $2 AND report_id IS NULL AND begin_at < $3`,
			r.ID, domain, cut)
		if err == nil {
			c.log.Info("cluster aggregate report built", "report_id", r.ID, "domain", domain,
				"begin", time.Unix(r.Begin, 0).UTC().Format(time.RFC3339), "rows", r.Rows, "messages", r.Messages)
		}
		return err
	})
}

// shippedRows are the rows every instance shipped for domain before cut,
// not yet in a report, summed by identity.
func shippedRows(ctx context.Context, tx pgx.Tx, domain string, cut int64) ([]reporting.ShippedRow, error) {
	rows, err := tx.Query(ctx, `SELECT r.hash, min(r.row_json), sum(r.count)::bigint FROM dg_agg_rows r
		JOIN dg_agg_periods p USING (instance, begin_at, domain)
		WHERE p.domain = $1 AND p.report_id IS NULL AND p.begin_at < $2
		GROUP BY r.hash ORDER BY r.hash`, domain, cut)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (reporting.ShippedRow, error) {
		var s reporting.ShippedRow
		var hash []byte
		var js string
		err := row.Scan(&hash, &js, &s.Count)
		copy(s.Hash[:], hash)
		s.Row = []byte(js)
		return s, err
	})
}
