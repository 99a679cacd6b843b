package service

import (
	"testing"

	"github.com/stepline/stepline/internal/store"
)

func TestPickRoute(t *testing.T) {
	split := []store.AliasRoute{{Version: 3, Weight: 30}, {Version: 5, Weight: 70}}
	tests := []struct {
		name   string
		routes []store.AliasRoute
		draw   int
		want   int64
	}{
		{"one version takes every draw", []store.AliasRoute{{Version: 2, Weight: 100}}, 99, 2},
		{"the first route's share", split, 0, 3},
		{"the first route's last draw", split, 29, 3},
		{"the second route's first draw", split, 30, 5},
		{"the last draw", split, 99, 5},
		{"a route of weight 0 is never drawn", []store.AliasRoute{{Version: 1, Weight: 0}, {Version: 2, Weight: 100}}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickRoute(tt.routes, tt.draw); got != tt.want {
				t.Fatalf("pickRoute(%v, %d) = %d, want %d", tt.routes, tt.draw, got, tt.want)
			}
		})
	}
}
