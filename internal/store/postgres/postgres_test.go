package postgres_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/storetest"
)

// newSchema creates a schema of the test's own in the database STEPLINE_TEST_POSTGRES names,
// dropped when the test ends, and returns the DSN and schema name.
func newSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = os.Getenv("STEPLINE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("STEPLINE_TEST_POSTGRES not set: skipping PostgreSQL store tests")
	}
	schema = "stepline_test_" + strings.ToLower(rand.Text())
	exec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	return dsn, schema
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	// Not t.Context(): cleanups run after it is cancelled.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	dsn, schema := newSchema(t)
	s, err := postgres.Open(t.Context(), postgres.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.MigrationHarness {
		dsn, schema := newSchema(t)
		ms, err := postgres.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		return storetest.MigrationHarness{
			Open: func(ctx context.Context) (store.Store, error) {
				return postgres.Open(ctx, postgres.Options{DSN: dsn, Schema: schema})
			},
			Exec: func(ctx context.Context, query string) error {
				exec(t, dsn, "SET search_path TO "+schema+"; "+query)
				return nil
			},
			Known: len(ms),
		}
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
