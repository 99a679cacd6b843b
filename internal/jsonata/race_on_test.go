//go:build race

package jsonata

// raceEnabled reports a -race build, in which sync.Pool drops what it is given, so that code
// reusing pooled memory (regexp's matchers) allocates far more than it otherwise does.
const raceEnabled = true
