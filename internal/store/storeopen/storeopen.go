// Package storeopen opens a store from the --db flag's value. It lives apart from package
// store because it imports both drivers, which import store: keeping it in store would be an
// import cycle, and a registry the drivers fill at init would be package-level mutable state.
package storeopen

import (
	"context"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// Kind names a driver.
type Kind string

// The drivers.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Parse tells which driver a DSN is for and what to give it: postgres:// and postgresql://
// URLs are PostgreSQL; sqlite:PATH and a bare path are SQLite files.
func Parse(dsn string) (Kind, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		if path := strings.TrimPrefix(dsn, "sqlite:"); path != "" {
			return SQLite, path, nil
		}
	case strings.Contains(dsn, "://"):
		// A URL for a database Stepline does not speak, rather than a file of that odd name.
		return "", "", fmt.Errorf("%w: database %q: unknown scheme (want sqlite:PATH, a path, or postgres://…)", store.ErrInvalidParams, dsn)
	case dsn != "":
		return SQLite, dsn, nil
	}
	return "", "", fmt.Errorf("%w: database %q: empty path", store.ErrInvalidParams, dsn)
}

// Open opens the store dsn names, migrating its schema.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	kind, target, err := Parse(dsn)
	if err != nil {
		return nil, err
	}
	if kind == Postgres {
		return postgres.Open(ctx, postgres.Options{DSN: target})
	}
	return sqlite.Open(ctx, sqlite.Options{Path: target})
}
