// Package pgtest gives tests a PostgreSQL schema of their own in the database that
// STEPLINE_TEST_POSTGRES names, so that tests of every package can run in parallel on one
// server and leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the test database's DSN.
const Env = "STEPLINE_TEST_POSTGRES"

// Schema creates a schema for t, dropped when t ends. It returns the base DSN, the schema and a
// DSN whose sessions use the schema (search_path). Without STEPLINE_TEST_POSTGRES it skips t.
func Schema(t testing.TB) (base, schema, dsn string) {
	t.Helper()
	base = lookupDSN(t)
	schema = "stepline_test_" + strings.ToLower(rand.Text())
	Exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { Exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base, schema, base + sep + "search_path=" + schema
}

func lookupDSN(t testing.TB) string {
	t.Helper()
	dsn := strings.TrimSpace(os.Getenv(Env))
	if dsn == "" {
		t.Skip(Env + " not set: skipping a test that needs PostgreSQL")
	}
	return dsn
}

// Exec runs sql on a connection of its own to dsn, failing t on error.
func Exec(t testing.TB, dsn, sql string) {
	t.Helper()
	// Not t.Context(): cleanups run after it is cancelled.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
