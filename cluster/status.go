package cluster

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstanceStatus is one instance as the cluster sees it.
type InstanceStatus struct {
	Name, Version  string
	Started, Seen  time.Time
	LastShip       *time.Time
	ClosedThrough  int64 // every period that began before this is shipped
	Live           bool
	SinceLastShip  time.Duration // how far its shipping lags (0: never shipped)
	HeldMessages   int
	PendingReports int // reports it took to send, not yet delivered
}

// Status is what `dmarcgate cluster status` shows.
type Status struct {
	Schema       int
	Instances    []InstanceStatus
	Sender       string // the lease holder ("" when none)
	SenderUntil  time.Time
	UnbuiltCuts  int // period ends whose reports are not built yet
	UnsentReport int // built reports no instance has delivered yet
}

// Status reads the cluster's state.
func (c *Cluster) Status(ctx context.Context) (*Status, error) {
	s := &Status{}
	if err := c.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM dg_schema`).Scan(&s.Schema); err != nil {
		return nil, err
	}
	err := c.pool.QueryRow(ctx, `SELECT holder, expires_at FROM dg_lease WHERE name = $1 AND expires_at > now()`, senderLease).
		Scan(&s.Sender, &s.SenderUntil)
	if err != nil && err != pgx.ErrNoRows {
		return nil, err
	}
	if err := c.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM dg_cuts WHERE built_at IS NULL),
		(SELECT count(*) FROM dg_agg_reports WHERE done_at IS NULL)`).Scan(&s.UnbuiltCuts, &s.UnsentReport); err != nil {
		return nil, err
	}
	rows, err := c.pool.Query(ctx, `SELECT i.name, i.version, i.started_at, i.seen_at, i.last_ship, i.closed_through,
		i.seen_at > now() - make_interval(secs => $1),
		coalesce(extract(epoch FROM now() - i.last_ship), 0)::float8,
		(SELECT count(*) FROM dg_held h WHERE h.instance = i.name),
		(SELECT count(*) FROM dg_agg_reports r WHERE r.handed_by = i.name AND r.done_at IS NULL)
		FROM dg_instances i ORDER BY i.name`, c.cfg.LiveAfter.Seconds())
	if err != nil {
		return nil, err
	}
	s.Instances, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (InstanceStatus, error) {
		var in InstanceStatus
		var lag float64
		err := row.Scan(&in.Name, &in.Version, &in.Started, &in.Seen, &in.LastShip, &in.ClosedThrough,
			&in.Live, &lag, &in.HeldMessages, &in.PendingReports)
		in.SinceLastShip = time.Duration(lag * float64(time.Second))
		return in, err
	})
	return s, err
}
