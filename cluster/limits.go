package cluster

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// limitsLock serialises the shared failure-report limits (an advisory
// lock: a burst over several instances is counted exactly).
const limitsLock = 0x646d617263676c6d

// AdmitFailure charges the failure-report limits of every instance
// together (reporting.SharedLimits): one report per reported domain and
// source per perSource, perDestDay per address and UTC day, perHour in
// all per clock hour. It returns the destinations admitted.
func (c *Cluster) AdmitFailure(ctx context.Context, domain, ip string, dests []string, at time.Time,
	perSource time.Duration, perDestDay, perHour int) ([]string, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	var admitted []string
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		admitted = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(limitsLock)); err != nil {
			return err
		}
		at = at.UTC()
		srcKey := "s|" + strings.ToLower(domain) + "|" + ip
		var recent bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dg_failure_limits WHERE key = $1 AND last_at > $2)`,
			srcKey, at.Add(-perSource)).Scan(&recent); err != nil || recent {
			return err
		}
		hourKey := "h|" + at.Format("2006010215")
		if n, err := counter(ctx, tx, hourKey); err != nil || n >= int64(perHour) {
			return err
		}
		day := at.Format("20060102")
		for _, d := range dests {
			k := "d|" + day + "|" + strings.ToLower(d)
			n, err := counter(ctx, tx, k)
			if err != nil {
				return err
			}
			if n >= int64(perDestDay) {
				continue
			}
			if err := charge(ctx, tx, k, at, at.Add(48*time.Hour)); err != nil {
				return err
			}
			admitted = append(admitted, d)
		}
		if len(admitted) == 0 {
			return nil
		}
		if err := charge(ctx, tx, hourKey, at, at.Add(2*time.Hour)); err != nil {
			return err
		}
		if err := charge(ctx, tx, srcKey, at, at.Add(perSource)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM dg_failure_limits WHERE expires_at < now() - interval '1 hour'`)
		return err
	})
	return admitted, err
}

func counter(ctx context.Context, tx pgx.Tx, key string) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT n FROM dg_failure_limits WHERE key = $1), 0)`, key).Scan(&n)
	return n, err
}

func charge(ctx context.Context, tx pgx.Tx, key string, at, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO dg_failure_limits (key, n, last_at, expires_at) VALUES ($1, 1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET n = dg_failure_limits.n + 1, last_at = greatest(dg_failure_limits.last_at, EXCLUDED.last_at),
		expires_at = greatest(dg_failure_limits.expires_at, EXCLUDED.expires_at)`, key, at, expires)
	return err
}
