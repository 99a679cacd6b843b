package conformance

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// minStatesPassRate sits just below what the cases that need Step Functions itself (nested
// executions, aws-sdk:sfn) achieved when last set: 22 of 29. The bar is 90%; the 7
// that miss it cannot match as recorded: 4 are .sync results and causes recorded in 2023,
// before AWS added RedriveCount and RedriveStatus to DescribeExecution (the 2025 recordings
// have them, and so does Stepline); 2 compare the Content-Length of AWS's StartExecution
// response, whose length depends on the digits of the recorded start date and on the names
// the corpus replaced; 1 is a TestState mock whose StartDate the corpus normalised with a
// transformer it did not record.
const minStatesPassRate = 0.75

// TestStates runs the corpus's cases that need Step Functions, the nested executions started
// in memory (states.go), and logs each one that does not match AWS.
func TestStates(t *testing.T) {
	dir, found := Locate(".")
	if !found {
		t.Skip("conformance corpus not found")
	}
	all, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*Case
	for _, c := range all {
		if slices.Contains(c.Requires, "states") {
			cases = append(cases, c)
		}
	}
	eng := Stepline{Handlers: filepath.Join("testdata", "lambda"), Work: t.TempDir()}
	outcomes := RunAll(context.Background(), eng, cases, runtime.GOMAXPROCS(0), caseTimeout)
	history := 0
	for _, o := range outcomes {
		switch {
		case o.Skip != "":
			t.Logf("skip %s: %s", o.Case.Name, o.Skip)
		case !o.Match:
			t.Logf("FAIL %s: %s", o.Case.Name, o.Mismatch)
		case o.HistoryRecorded && !o.HistoryMatch:
			history++
			t.Logf("history %s: %s", o.Case.Name, o.HistoryMismatch)
		}
	}
	total := Total(outcomes)
	t.Logf("%d of %d runnable cases that need Step Functions match AWS; histories %d of %d", total.Match, total.Run, total.HistoryMatch, total.HistoryRecorded)
	if total.PassRate() < minStatesPassRate {
		t.Errorf("%d of %d runnable cases that need Step Functions match AWS (%.1f%%), below %.1f%%",
			total.Match, total.Run, 100*total.PassRate(), 100*minStatesPassRate)
	}
}
