package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
	"github.com/stepline/stepline/internal/store/storetest"
)

func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "stepline.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) }, timers)
}

// timers is the suite's storetest.Timers: it reads the timers table on the store's read pool.
func timers(ctx context.Context, s store.Store) ([]*store.Timer, error) {
	rows, err := s.(*sqlite.Store).ReadDB().QueryContext(ctx, `SELECT e.arn, t.timer_id, t.due_at
		FROM timers t JOIN executions e ON e.id = t.execution_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []*store.Timer
	for rows.Next() {
		var tm store.Timer
		var due int64
		if err := rows.Scan(&tm.ExecutionArn, &tm.TimerID, &due); err != nil {
			return nil, err
		}
		tm.Due = time.UnixMicro(due).UTC()
		ts = append(ts, &tm)
	}
	return ts, rows.Err()
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.MigrationHarness {
		path := filepath.Join(t.TempDir(), "stepline.db")
		ms, err := sqlite.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		return storetest.MigrationHarness{
			Open: func(ctx context.Context) (store.Store, error) {
				return sqlite.Open(ctx, sqlite.Options{Path: path})
			},
			Exec: func(ctx context.Context, query string) error {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					return err
				}
				defer db.Close()
				_, err = db.ExecContext(ctx, query)
				return err
			},
			Known: len(ms),
		}
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
