package task

// SetMaxResultFile sets the size past which a status's result file goes on in the next, for
// a test, and returns the function that restores it.
func SetMaxResultFile(n int64) (restore func()) {
	old := maxResultFile
	maxResultFile = n
	return func() { maxResultFile = old }
}
