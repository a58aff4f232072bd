// Package cluster shares what several dmarcgate instances (the MX hosts of
// one site) must agree on through one PostgreSQL database: aggregate report
// rows and the reports built from them, the sender lease, failure-report
// limits and the quarantine index. It never stands in the SMTP path: each
// instance commits locally first and ships to PostgreSQL in the background,
// idempotently, so an outage delays reports and loses nothing. Mail spools
// stay on each instance's disk.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config says how this instance joins the cluster.
type Config struct {
	DSN      string // postgres:// URL
	Instance string // this instance's name in shared state
	Version  string // shown by cluster status
	// ShipGrace: at a period's end, how long the sender waits for the
	// live instances' rows before building the reports anyway.
	ShipGrace time.Duration
	// Tick is how often the instance syncs with PostgreSQL (default 1s).
	Tick time.Duration
	// LeaseTTL is how long the sender's lease lasts unrenewed (default
	// 15s): a crashed sender is replaced within it.
	LeaseTTL time.Duration
	// LiveAfter: an instance not seen for this long is not waited for
	// (default 20s).
	LiveAfter time.Duration
	Logger    *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.DSN == "" || c.Instance == "" {
		return errors.New("cluster: a DSN and an instance name are needed")
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.LiveAfter <= 0 {
		c.LiveAfter = 20 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Cluster is this instance's handle on the shared database.
type Cluster struct {
	cfg      Config
	pool     *pgxpool.Pool
	log      *slog.Logger
	migrated atomic.Bool
}

// Open prepares the connection pool. It does not wait for PostgreSQL:
// serve starts and takes mail while the database is down; Migrate (run by
// Run, retried) creates the schema once it can.
func Open(cfg Config) (*Cluster, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("cluster.postgres: %w", err)
	}
	pc.MaxConns = 4
	pc.MinConns = 0
	if pc.ConnConfig.ConnectTimeout == 0 || pc.ConnConfig.ConnectTimeout > 5*time.Second {
		pc.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	pc.ConnConfig.RuntimeParams["application_name"] = "dmarcgate " + cfg.Instance
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("cluster.postgres: %w", err)
	}
	return &Cluster{cfg: cfg, pool: pool, log: cfg.Logger}, nil
}

// Close releases the connections.
func (c *Cluster) Close() { c.pool.Close() }

// Instance is this instance's name.
func (c *Cluster) Instance() string { return c.cfg.Instance }
