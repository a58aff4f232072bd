package cluster

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// senderLease names the lease of the one instance that builds and sends
// the aggregate reports.
const senderLease = "sender"

// lead takes or renews the sender lease; it reports whether this
// instance holds it. A holder that stops renewing loses it after
// LeaseTTL, measured by PostgreSQL's clock (one clock for everyone).
func (c *Cluster) lead(ctx context.Context) (bool, error) {
	var holder string
	err := c.pool.QueryRow(ctx, `INSERT INTO dg_lease (name, holder, expires_at)
		VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE dg_lease.holder = EXCLUDED.holder OR dg_lease.expires_at < now()
		RETURNING holder`, senderLease, c.cfg.Instance, c.cfg.LeaseTTL.Seconds()).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil && holder == c.cfg.Instance, err
}

// resign gives the lease up at shutdown so that another instance takes
// over at once.
func (c *Cluster) resign(ctx context.Context) {
	c.pool.Exec(ctx, `DELETE FROM dg_lease WHERE name = $1 AND holder = $2`, senderLease, c.cfg.Instance)
}
