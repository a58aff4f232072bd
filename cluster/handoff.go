package cluster

import (
	"context"

	"github.com/jackc/pgx/v5"

	"dmarcgate/reporting"
)

// Reports is what the cluster needs of this instance's reporter
// (reporting.Reporter) and queue.
type Reports interface {
	ShipClosed(ctx context.Context, ship func(context.Context, reporting.ShippedPeriod) error) (int, error)
	CloseAt(ctx context.Context, cut int64) (int, error)
	OpenFrom() int64
	ReportID(begin int64, domain string) (string, error)
	RenderShipped(rep *reporting.ClusterReport, rows []reporting.ShippedRow) error
	Adopt(ctx context.Context, rep *reporting.ClusterReport) error
	AdoptedState(rep *reporting.ClusterReport) (string, error)
	Send(ctx context.Context, closeNow bool) (reporting.Summary, error)
	// ReportQueued reports whether a message of the report is still in
	// this instance's queue (not yet delivered or given up).
	ReportQueued(reportID string) (bool, error)
}

// claim takes the built reports nobody live is sending: new ones, and
// those of an instance that stopped (it may have died while sending:
// the same report, same id and bytes, goes out again from here).
func (c *Cluster) claim(ctx context.Context) ([]*reporting.ClusterReport, error) {
	rows, err := c.pool.Query(ctx, `UPDATE dg_agg_reports r SET handed_by = $1, handed_at = now(), hand_count = hand_count + 1
		WHERE done_at IS NULL AND (handed_by IS NULL OR (handed_by <> $1 AND NOT EXISTS (
			SELECT 1 FROM dg_instances i WHERE i.name = r.handed_by AND i.seen_at > now() - make_interval(secs => $2))))
		RETURNING report_id, domain, begin_at, end_at, policy, gz, rows, messages`,
		c.cfg.Instance, c.cfg.LiveAfter.Seconds())
	if err != nil {
		return nil, err
	}
	claimed, err := pgx.CollectRows(rows, scanReport)
	for _, r := range claimed {
		c.log.Info("cluster: sending aggregate report", "report_id", r.ID, "domain", r.Domain)
	}
	return claimed, err
}

// handOff adopts the claimed reports into this instance's reporter, which
// sends them through its durable queue.
func (c *Cluster) handOff(ctx context.Context, rep Reports) error {
	claimed, err := c.claim(ctx)
	if err != nil {
		return err
	}
	for _, r := range claimed {
		if err := rep.Adopt(ctx, r); err != nil {
			return err
		}
	}
	if len(claimed) > 0 {
		if _, err := rep.Send(ctx, false); err != nil {
			return err
		}
	}
	return nil
}

// markDone records the reports this instance sent that have left its
// queue (delivered, or given up after reporting.drop_after). A claimed
// report this instance does not know (a crash between claim and adopt)
// is adopted again.
func (c *Cluster) markDone(ctx context.Context, rep Reports) error {
	rows, err := c.pool.Query(ctx, `SELECT report_id, domain, begin_at, end_at, policy, gz, rows, messages
		FROM dg_agg_reports WHERE done_at IS NULL AND handed_by = $1`, c.cfg.Instance)
	if err != nil {
		return err
	}
	mine, err := pgx.CollectRows(rows, scanReport)
	if err != nil {
		return err
	}
	for _, r := range mine {
		state, err := rep.AdoptedState(r)
		if err != nil {
			return err
		}
		if state == "" {
			if err := rep.Adopt(ctx, r); err != nil {
				return err
			}
			continue
		}
		if state != "sent" && state != "failed" {
			continue
		}
		if queued, err := rep.ReportQueued(r.ID); err != nil || queued {
			continue
		}
		if _, err := c.pool.Exec(ctx, `UPDATE dg_agg_reports SET done_at = now() WHERE report_id = $1`, r.ID); err != nil {
			return err
		}
	}
	return nil
}

func scanReport(row pgx.CollectableRow) (*reporting.ClusterReport, error) {
	r := &reporting.ClusterReport{}
	var policy string
	err := row.Scan(&r.ID, &r.Domain, &r.Begin, &r.End, &policy, &r.GZ, &r.Rows, &r.Messages)
	r.Policy = []byte(policy)
	return r, err
}
