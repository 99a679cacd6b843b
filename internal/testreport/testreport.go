// Package testreport lets the reference suites (the conformance corpus, the JSONata suite) show
// their pass-rate tables in a plain `go test ./...` run, which hides a passing package's output:
// scripts/test.sh points STEPLINE_REPORT at a file, the suites append their reports to it, and
// the script prints it at the end. Without STEPLINE_REPORT a report goes to stdout, which
// `go test -v` shows.
package testreport

import (
	"fmt"
	"os"
)

// Env names the file that collects reports.
const Env = "STEPLINE_REPORT"

// Write appends a report in one write, so that suites running in parallel do not interleave.
func Write(report []byte) error {
	path := os.Getenv(Env)
	if path == "" {
		_, err := os.Stdout.Write(report)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("testreport: %w", err)
	}
	_, werr := f.Write(report)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("testreport: %w", werr)
	}
	return nil
}
