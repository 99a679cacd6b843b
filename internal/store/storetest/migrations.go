package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stepline/stepline/internal/store"
)

// MigrationHarness gives the migration tests a database of their own.
type MigrationHarness struct {
	// Open opens (and migrates) the test's database; every call opens the same database.
	Open func(ctx context.Context) (store.Store, error)
	// Exec runs SQL on that database, as a newer binary would have.
	Exec func(ctx context.Context, sql string) error
	// Known is the schema version the driver's migrations reach.
	Known int
}

// RunMigrations checks that opening migrates once, that reopening is harmless, and that a
// database migrated past what the binary knows is refused.
func RunMigrations(t *testing.T, newHarness func(t *testing.T) MigrationHarness) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t)
	for i := range 2 {
		s, err := h.Open(ctx)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != h.Known {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, h.Known)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if i == 0 {
			mustCreateMachine(t, s, "survivor")
		} else if _, err := s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: smArn("survivor")}); err != nil {
			t.Fatalf("data written before reopening: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := h.Exec(ctx, "INSERT INTO schema_version (version) VALUES (9999)"); err != nil {
		t.Fatalf("faking a newer schema: %v", err)
	}
	s, err := h.Open(ctx)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	var tooNew *store.SchemaTooNewError
	if !errors.Is(err, store.ErrSchemaTooNew) || !errors.As(err, &tooNew) || tooNew.Found != 9999 || tooNew.Known != h.Known {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}
