// Package pgtest gives a test its own PostgreSQL database on the server
// CI starts (.ci/postgres-start, from Debian's postgresql package), named
// by DMARCGATE_TEST_POSTGRES. Without it a test skips outside CI and fails
// in CI. It also has a TCP proxy a test can cut, to play an outage. It is
// for tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dmarcgate/internal/needs"
)

// EnvDSN names the variable holding the server's URL.
const EnvDSN = "DMARCGATE_TEST_POSTGRES"

// Database creates a fresh database for t and returns its URL; it is
// dropped when t ends.
func Database(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		needs.Missing(t, "PostgreSQL not available: set "+EnvDSN+" (apt-get install postgresql; .ci/postgres-start starts a throwaway server)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "dg_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}
	u.Path = "/" + name
	return u.String()
}

// WithHost returns dsn pointing at hostport instead (through a Proxy).
func WithHost(t testing.TB, dsn, hostport string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostport
	return u.String()
}
