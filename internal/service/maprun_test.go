package service

import (
	"errors"
	"slices"
	"testing"
)

// down returns hi, hi-1, …, lo.
func down(hi, lo int) []int {
	var out []int
	for i := hi; i >= lo; i-- {
		out = append(out, i)
	}
	return out
}

func TestPageDown(t *testing.T) {
	t.Parallel()
	even := func(i int) bool { return i%2 == 0 }
	all := func(int) bool { return true }
	tests := []struct {
		name        string
		from, limit int
		keep        func(int) bool
		want        []int
		next        int
	}{
		{name: "everything fits", from: 3, limit: 5, keep: all, want: []int{2, 1, 0}},
		{name: "exactly one page", from: 3, limit: 3, keep: all, want: []int{2, 1, 0}},
		{name: "two pages", from: 5, limit: 2, keep: all, want: []int{4, 3}, next: 3},
		{name: "the last page", from: 3, limit: 2, keep: all, want: []int{2, 1}, next: 1},
		{name: "a filter skips", from: 6, limit: 2, keep: even, want: []int{4, 2}, next: 2},
		{name: "the default page size", from: 102, limit: 0, keep: all, want: down(101, 2), next: 2},
		{name: "nothing", from: 0, limit: 5, keep: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			next := pageDown(tt.from, tt.limit, func(i int) bool {
				if !tt.keep(i) {
					return false
				}
				got = append(got, i)
				return true
			})
			if !slices.Equal(got, tt.want) {
				t.Fatalf("page %v, want %v", got, tt.want)
			}
			if next != tt.next {
				t.Fatalf("next %d, want %d", next, tt.next)
			}
		})
	}
}

func TestIndexToken(t *testing.T) {
	t.Parallel()
	if tok := encodeIndexToken(0, "r"); tok != "" {
		t.Fatalf("a last page has token %q", tok)
	}
	tests := []struct {
		name  string
		token string
		kind  string
		n     int
		want  int // -1: InvalidToken
	}{
		{name: "first page", token: "", kind: "r", n: 7, want: 7},
		{name: "round trip", token: encodeIndexToken(3, "r"), kind: "r", n: 7, want: 3},
		{name: "another list's token", token: encodeIndexToken(3, "c"), kind: "r", n: 7, want: -1},
		{name: "past the end", token: encodeIndexToken(8, "r"), kind: "r", n: 7, want: -1},
		{name: "not base64", token: "%%%", kind: "r", n: 7, want: -1},
		{name: "a history token", token: encodeHistoryToken(3, false), kind: "r", n: 7, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeIndexToken(tt.token, tt.kind, tt.n)
			if tt.want < 0 {
				if !errors.Is(err, &Error{Code: CodeInvalidToken}) {
					t.Fatalf("decodeIndexToken = %d, %v; want InvalidToken", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("decodeIndexToken = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
