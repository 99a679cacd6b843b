package store

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		versions []int
		wantErr  bool
	}{
		{"in order", fstest.MapFS{"002_b.sql": file("B"), "001_a.sql": file("A"), "README": file("x")}, []int{1, 2}, false},
		{"gap", fstest.MapFS{"001_a.sql": file("A"), "003_c.sql": file("C")}, nil, true},
		{"not starting at 1", fstest.MapFS{"002_b.sql": file("B")}, nil, true},
		{"no version", fstest.MapFS{"initial.sql": file("A")}, nil, true},
		{"none", fstest.MapFS{}, nil, true},
	}
	for _, tt := range tests {
		ms, err := LoadMigrations(tt.fsys)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		for i, m := range ms {
			if m.Version != tt.versions[i] {
				t.Errorf("%s: migration %d has version %d", tt.name, i, m.Version)
			}
		}
		if !tt.wantErr && (ms[0].Name != "001_a" || ms[0].SQL != "A") {
			t.Errorf("%s: first migration = %+v", tt.name, ms[0])
		}
	}
}

func TestCursor(t *testing.T) {
	for _, c := range []Cursor{
		{Time: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC), Key: "arn:aws:states:us-east-1:1:execution:m:x|y"},
		{Key: "arn:aws:states:us-east-1:1:stateMachine:m"},
		{Time: time.Unix(0, 0).UTC(), Key: "k"},
	} {
		got, err := DecodeCursor(c.Encode())
		if err != nil || !got.Time.Equal(c.Time) || got.Key != c.Key {
			t.Errorf("round trip of %+v = %+v, %v", c, got, err)
		}
	}
	for _, s := range []string{"", "!!!", "bm90IGEgY3Vyc29y" /* "not a cursor" */, "MTIz" /* "123" */, "MTIzfA" /* "123|" */, "eHx5" /* "x|y" */} {
		if _, err := DecodeCursor(s); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("DecodeCursor(%q) error = %v, want ErrInvalidCursor", s, err)
		}
	}
}

func TestPageLimit(t *testing.T) {
	tests := []struct {
		in, want int
		wantErr  bool
	}{
		{0, DefaultPageSize, false}, {1, 1, false}, {MaxPageSize, MaxPageSize, false},
		{-1, 0, true}, {MaxPageSize + 1, 0, true},
	}
	for _, tt := range tests {
		got, err := PageLimit(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidParams)) {
			t.Errorf("PageLimit(%d) = %d, %v", tt.in, got, err)
		}
	}
}

func TestSchemaTooNewError(t *testing.T) {
	var err error = &SchemaTooNewError{Found: 3, Known: 2}
	var e *SchemaTooNewError
	if !errors.Is(err, ErrSchemaTooNew) || !errors.As(err, &e) || e.Found != 3 {
		t.Fatalf("SchemaTooNewError does not unwrap: %v", err)
	}
}
