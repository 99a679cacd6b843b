package server

import "time"

// SetIdleLimits shortens the body-read and response-write idle limits for a test; the returned
// function restores them.
func SetIdleLimits(body, write time.Duration) (restore func()) {
	b, w := bodyIdle, writeIdle
	bodyIdle, writeIdle = body, write
	return func() { bodyIdle, writeIdle = b, w }
}
