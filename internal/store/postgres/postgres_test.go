package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
	"github.com/stepline/stepline/internal/store/storetest"
)

// newSchema gives the test a schema of its own and returns the DSN and schema name.
func newSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn, schema, _ = pgtest.Schema(t)
	return dsn, schema
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
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) }, timers)
}

// timers is the suite's storetest.Timers: it reads the timers table of the store's schema.
func timers(ctx context.Context, s store.Store) ([]*store.Timer, error) {
	rows, err := s.(*postgres.Store).Pool().Query(ctx, `SELECT e.arn, t.timer_id, t.due_at
		FROM timers t JOIN executions e ON e.id = t.execution_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Timer, error) {
		var tm store.Timer
		err := r.Scan(&tm.ExecutionArn, &tm.TimerID, &tm.Due)
		return &tm, err
	})
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
				pgtest.Exec(t, dsn, "SET search_path TO "+schema+"; "+query)
				return nil
			},
			Known: len(ms),
		}
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
