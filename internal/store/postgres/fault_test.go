package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
)

// TestFault checks which driver errors the store reports as the database's faults; the served
// binary's test (cmd/stepline, TestServeLostConnectionsOnPostgreSQL) sees them for real.
func TestFault(t *testing.T) {
	// A server that is not there: nothing listens on port 1.
	_, refused := pgx.Connect(context.Background(), "postgres://x@127.0.0.1:1/x?connect_timeout=5")
	if refused == nil {
		t.Fatal("connected to port 1")
	}
	tests := []struct {
		err  error
		want error
	}{
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, store.ErrUnavailable},
		{&pgconn.PgError{Code: "08006"}, store.ErrUnavailable},
		{fmt.Errorf("postgres: get: %w", pgconn.ErrConnClosed), store.ErrUnavailable},
		{refused, store.ErrUnavailable},
		{&pgconn.PgError{Code: "53100", Message: "could not extend file"}, store.ErrStorageFull},
		{&pgconn.PgError{Code: "23505"}, nil},
		{errors.New("something else"), nil},
	}
	s := &postgres.Store{}
	for _, tt := range tests {
		if got := store.Fault(s, tt.err); got != tt.want {
			t.Errorf("Fault(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
