package cluster

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"dmarcgate/reporting"
)

// limitsLock serialises the shared failure-report limits (an advisory
// lock: a burst over several instances is counted exactly).
const limitsLock = 0x646d617263676c6d

// AdmitFailure charges the failure-report limits of every instance
// together (reporting.SharedLimits): one report per reported domain and
// source per PerSource, PerDestDay per address and UTC day, PerHour
// reports to an address in all per clock hour. It returns the
// destinations admitted.
func (c *Cluster) AdmitFailure(ctx context.Context, fc reporting.FailureCharge) ([]string, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	var admitted []string
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) (err error) {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(limitsLock)); err != nil {
			return err
		}
		admitted, err = admit(ctx, tx, fc)
		if err != nil || len(admitted) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM dg_failure_limits WHERE expires_at < now() - interval '1 hour'`)
		return err
	})
	return admitted, err
}

// Keys of dg_failure_limits for a charge.
func sourceKey(fc reporting.FailureCharge) string {
	return "s|" + strings.ToLower(fc.Domain) + "|" + fc.IP
}
func hourKey(at time.Time) string { return "h|" + at.Format("2006010215") }
func destKey(at time.Time, dest string) string {
	return "d|" + at.Format("20060102") + "|" + strings.ToLower(dest)
}

// chargeAt is the charge's time as PostgreSQL keeps it (microseconds), so
// that a release finds the per-source charge it gives back.
func chargeAt(fc reporting.FailureCharge) time.Time { return fc.At.UTC().Truncate(time.Microsecond) }

func admit(ctx context.Context, tx pgx.Tx, fc reporting.FailureCharge) ([]string, error) {
	at := chargeAt(fc)
	if fc.Source {
		var recent bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dg_failure_limits WHERE key = $1 AND last_at > $2)`,
			sourceKey(fc), at.Add(-fc.PerSource)).Scan(&recent); err != nil || recent {
			return nil, err
		}
	}
	hour, err := counter(ctx, tx, hourKey(at))
	if err != nil {
		return nil, err
	}
	var admitted []string
	for _, d := range fc.Dests {
		if hour >= int64(fc.PerHour) {
			break
		}
		n, err := counter(ctx, tx, destKey(at, d))
		if err != nil {
			return nil, err
		}
		if n >= int64(fc.PerDestDay) {
			continue
		}
		if err := charge(ctx, tx, destKey(at, d), at, at.Add(48*time.Hour)); err != nil {
			return nil, err
		}
		if err := charge(ctx, tx, hourKey(at), at, at.Add(2*time.Hour)); err != nil {
			return nil, err
		}
		hour++
		admitted = append(admitted, d)
	}
	if len(admitted) > 0 && fc.Source {
		err = charge(ctx, tx, sourceKey(fc), at, at.Add(fc.PerSource))
	}
	return admitted, err
}

// ReleaseFailure gives back what AdmitFailure charged for fc.Dests (and
// the per-source charge with fc.Source), for a report not sent to them.
func (c *Cluster) ReleaseFailure(ctx context.Context, fc reporting.FailureCharge) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	at := chargeAt(fc)
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(limitsLock)); err != nil {
			return err
		}
		for _, d := range fc.Dests {
			for _, k := range []string{destKey(at, d), hourKey(at)} {
				if _, err := tx.Exec(ctx, `UPDATE dg_failure_limits SET n = n - 1 WHERE key = $1 AND n > 0`, k); err != nil {
					return err
				}
			}
		}
		if !fc.Source {
			return nil
		}
		// Only this report's charge: a later one (after PerSource) stays.
		_, err := tx.Exec(ctx, `DELETE FROM dg_failure_limits WHERE key = $1 AND last_at = $2`, sourceKey(fc), at)
		return err
	})
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
