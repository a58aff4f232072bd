package config

import (
	"net/url"
	"time"
)

// Cluster is several MX instances sharing one PostgreSQL: report rows,
// report send state, failure-report limits and the quarantine index.
// Each instance still spools its mail locally.
type Cluster struct {
	// Postgres is the connection URL; empty: this instance stands alone.
	Postgres string `toml:"postgres"`
	// Instance names this instance in shared state; default hostname.
	Instance string `toml:"instance"`
	// ShipGrace is how long, at a period's end, the sender waits for the
	// other live instances' rows before the reports go out.
	ShipGrace Duration `toml:"ship_grace"`
}

// Enabled reports whether this instance shares state in PostgreSQL.
func (c *Cluster) Enabled() bool { return c.Postgres != "" }

// defaultShipGrace is ship_grace when unset.
const defaultShipGrace = 2 * time.Minute

func (c *Config) validateCluster() error {
	k := &c.Cluster
	if k.Postgres == "" {
		return nil
	}
	u, err := url.Parse(k.Postgres)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return bad("cluster.postgres", "want a URL like postgres://user:pass@host:5432/db")
	}
	if k.Instance == "" {
		k.Instance = c.Hostname
	}
	if k.Instance == "" || len(k.Instance) > 200 {
		return bad("cluster.instance", "needs a name (or hostname) of at most 200 bytes")
	}
	if k.ShipGrace.Duration < 0 {
		return bad("cluster.ship_grace", "must not be negative")
	}
	return nil
}
