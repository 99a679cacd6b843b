package storeopen

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stepline/stepline/internal/store"
)

func TestParse(t *testing.T) {
	tests := []struct {
		dsn     string
		kind    Kind
		target  string
		wantErr bool
	}{
		{"./stepline.db", SQLite, "./stepline.db", false},
		{"/var/lib/stepline/db", SQLite, "/var/lib/stepline/db", false},
		{"sqlite:./x.db", SQLite, "./x.db", false},
		{"sqlite:/abs/x.db", SQLite, "/abs/x.db", false},
		{"postgres://u@h:5432/db?sslmode=disable", Postgres, "postgres://u@h:5432/db?sslmode=disable", false},
		{"postgresql://h/db", Postgres, "postgresql://h/db", false},
		{"", "", "", true},
		{"sqlite:", "", "", true},
		{"mysql://h/db", "", "", true},
	}
	for _, tt := range tests {
		kind, target, err := Parse(tt.dsn)
		if tt.wantErr {
			if !errors.Is(err, store.ErrInvalidParams) {
				t.Errorf("Parse(%q) error = %v, want ErrInvalidParams", tt.dsn, err)
			}
			continue
		}
		if err != nil || kind != tt.kind || target != tt.target {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tt.dsn, kind, target, err, tt.kind, tt.target)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
