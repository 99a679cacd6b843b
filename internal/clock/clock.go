// Package clock lets every component take time as a dependency, so that tests and
// `stepline run --wait-scale 0` can move time themselves.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the system clock.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fake is a clock that moves only when told to; Sleep advances it at once.
type Fake struct {
	T time.Time
}

// Now returns the fake time.
func (f *Fake) Now() time.Time { return f.T }

// Sleep advances the fake time by d.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		f.T = f.T.Add(d)
	}
	return ctx.Err()
}
