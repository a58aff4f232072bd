package cluster

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are applied in order, each once; their index+1 is the schema
// version. Never edit one that has shipped: add another.
var migrations = []string{
	// 1: instances, aggregate rows and reports, the sender lease, cuts,
	// failure-report limits, the quarantine index.
	`CREATE TABLE dg_instances (
		name           text PRIMARY KEY,
		started_at     timestamptz NOT NULL DEFAULT now(),
		seen_at        timestamptz NOT NULL DEFAULT now(),
		closed_through bigint NOT NULL DEFAULT 0,
		last_ship      timestamptz,
		version        text NOT NULL DEFAULT ''
	);
	CREATE TABLE dg_agg_periods (
		instance   text   NOT NULL,
		begin_at   bigint NOT NULL,
		end_at     bigint NOT NULL,
		domain     text   NOT NULL,
		policy     text   NOT NULL,
		shipped_at timestamptz NOT NULL DEFAULT now(),
		report_id  text,
		PRIMARY KEY (instance, begin_at, domain)
	);
	CREATE INDEX dg_agg_periods_unreported ON dg_agg_periods (domain, begin_at) WHERE report_id IS NULL;
	CREATE TABLE dg_agg_rows (
		instance text   NOT NULL,
		begin_at bigint NOT NULL,
		domain   text   NOT NULL,
		hash     bytea  NOT NULL,
		row_json text   NOT NULL,
		count    bigint NOT NULL,
		PRIMARY KEY (instance, begin_at, domain, hash)
	);
	CREATE TABLE dg_cuts (
		cut        bigint PRIMARY KEY,
		created_at timestamptz NOT NULL DEFAULT now(),
		built_at   timestamptz
	);
	CREATE TABLE dg_agg_reports (
		report_id  text PRIMARY KEY,
		domain     text   NOT NULL,
		cut        bigint NOT NULL,
		begin_at   bigint NOT NULL,
		end_at     bigint NOT NULL,
		policy     text   NOT NULL,
		gz         bytea  NOT NULL,
		rows       int    NOT NULL,
		messages   bigint NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now(),
		handed_by  text,
		handed_at  timestamptz,
		hand_count int    NOT NULL DEFAULT 0,
		done_at    timestamptz,
		UNIQUE (domain, cut)
	);
	CREATE TABLE dg_lease (
		name       text PRIMARY KEY,
		holder     text NOT NULL,
		expires_at timestamptz NOT NULL
	);
	CREATE TABLE dg_failure_limits (
		key        text PRIMARY KEY,
		n          bigint NOT NULL,
		last_at    timestamptz NOT NULL,
		expires_at timestamptz NOT NULL
	);
	CREATE TABLE dg_held (
		queue_id    text PRIMARY KEY,
		instance    text NOT NULL,
		mail_from   text NOT NULL,
		from_header text NOT NULL,
		subject     text NOT NULL,
		received_at timestamptz NOT NULL,
		size        bigint NOT NULL
	);
	CREATE TABLE dg_held_actions (
		queue_id     text PRIMARY KEY,
		instance     text NOT NULL,
		action       text NOT NULL,
		requested_by text NOT NULL,
		requested_at timestamptz NOT NULL DEFAULT now(),
		done_at      timestamptz,
		result       text
	);`,
	// 2: report mail about our own domains, shared by every instance.
	`CREATE TABLE dg_inbound_mail (
		id         bigserial PRIMARY KEY,
		instance   text  NOT NULL,
		digest     bytea NOT NULL UNIQUE,
		data       bytea NOT NULL,
		shipped_at timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE dg_inbound_cursor (
		instance text PRIMARY KEY,
		last_id  bigint NOT NULL
	);`,
}

// SchemaVersion is the version this build migrates to.
func SchemaVersion() int { return len(migrations) }

// migrateLock is the advisory lock key of migrations ("dmarcgat").
const migrateLock = 0x646d617263676174

// Migrate brings the schema to SchemaVersion under an advisory lock, so
// instances starting together apply each migration once. A database
// newer than this build is refused.
func (c *Cluster) Migrate(ctx context.Context) error {
	err := c.migrate(ctx)
	if err == nil {
		c.migrated.Store(true)
	}
	return err
}

// ready migrates once per process, before the first use of the schema.
func (c *Cluster) ready(ctx context.Context) error {
	if c.migrated.Load() {
		return nil
	}
	return c.Migrate(ctx)
}

func (c *Cluster) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS dg_schema (version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM dg_schema`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("cluster: the database has schema version %d, newer than this dmarcgate (%d): upgrade it", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("cluster: schema migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO dg_schema (version) VALUES ($1)`, v); err != nil {
				return err
			}
			c.log.Info("cluster schema migrated", "version", v)
		}
		return nil
	})
}
