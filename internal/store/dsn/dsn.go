// Package dsn turns the --db flag into a store, so that every command accepts the same forms:
// a file path or sqlite:PATH for the embedded SQLite store, postgres://… for PostgreSQL.
package dsn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// ErrUnsupported is returned for a DSN whose driver this binary does not have.
var ErrUnsupported = errors.New("dsn: unsupported database")

// Driver names a store implementation.
type Driver string

// The drivers a DSN can select.
const (
	SQLite   Driver = "sqlite"
	Postgres Driver = "postgres"
)

// Parse splits a DSN into its driver and the target the driver opens: a file path for SQLite,
// the DSN itself for PostgreSQL (pgx parses URLs with either scheme).
func Parse(dsn string) (Driver, string, error) {
	switch {
	case dsn == "":
		return "", "", errors.New("dsn: empty database name")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		// sqlite:PATH and sqlite://PATH both name a file; the second form is what people
		// write by analogy with postgres://.
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return "", "", fmt.Errorf("dsn: %q names no file", dsn)
		}
		return SQLite, path, nil
	}
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\.`) {
		return "", "", fmt.Errorf("%w: scheme %q (use a file path, sqlite:PATH or postgres://…)", ErrUnsupported, scheme)
	}
	return SQLite, dsn, nil
}

// Open opens (creating and migrating if need be) the store a DSN names.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	driver, target, err := Parse(dsn)
	if err != nil {
		return nil, err
	}
	switch driver {
	case SQLite:
		s, err := sqlite.Open(ctx, sqlite.Options{Path: target})
		if err != nil {
			return nil, fmt.Errorf("dsn: opening SQLite database %s: %w", target, err)
		}
		return s, nil
	case Postgres:
		// Query parameters pgx does not know, such as search_path, become session settings:
		// that is how several deployments share one database in separate schemas.
		s, err := postgres.Open(ctx, postgres.Options{DSN: target})
		if err != nil {
			return nil, fmt.Errorf("dsn: opening PostgreSQL database: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: driver %q", ErrUnsupported, driver)
}
