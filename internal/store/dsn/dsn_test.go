package dsn

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn     string
		driver  Driver
		target  string
		wantErr bool
	}{
		{dsn: "./stepline.db", driver: SQLite, target: "./stepline.db"},
		{dsn: "/var/lib/stepline/db", driver: SQLite, target: "/var/lib/stepline/db"},
		{dsn: "relative/dir/x.db", driver: SQLite, target: "relative/dir/x.db"},
		{dsn: "sqlite:/tmp/x.db", driver: SQLite, target: "/tmp/x.db"},
		{dsn: "sqlite:x.db", driver: SQLite, target: "x.db"},
		{dsn: "sqlite:///tmp/x.db", driver: SQLite, target: "/tmp/x.db"},
		{dsn: "postgres://u@h:5432/db?sslmode=disable", driver: Postgres, target: "postgres://u@h:5432/db?sslmode=disable"},
		{dsn: "postgresql://u@h/db", driver: Postgres, target: "postgresql://u@h/db"},
		{dsn: "./odd://name", driver: SQLite, target: "./odd://name"},
		{dsn: "", wantErr: true},
		{dsn: "sqlite:", wantErr: true},
		{dsn: "mysql://u@h/db", wantErr: true},
	}
	for _, tt := range tests {
		driver, target, err := Parse(tt.dsn)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, want error %v", tt.dsn, err, tt.wantErr)
			continue
		}
		if driver != tt.driver || target != tt.target {
			t.Errorf("Parse(%q) = %q, %q; want %q, %q", tt.dsn, driver, target, tt.driver, tt.target)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dsn := range []string{filepath.Join(t.TempDir(), "a.db"), "sqlite:" + filepath.Join(t.TempDir(), "b.db")} {
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping after Open(%q): %v", dsn, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestOpenUnsupported(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), "mysql://u@h/db")
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open(mysql://…) error = %v, want ErrUnsupported", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, schema, dsn := pgtest.Schema(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v == 0 {
		t.Fatalf("SchemaVersion = %d, %v; want the migrated schema", v, err)
	}
	// The tables went into the test's schema, not the default one.
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&n); err != nil || n == 0 {
		t.Fatalf("tables in %s: %d, %v", schema, n, err)
	}
}
