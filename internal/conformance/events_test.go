package conformance

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestEventsCases runs the corpus's cases that need EventBridge (events:putEvents tasks) on
// their own, quicker than TestConformance: every one that runs must match AWS, history too.
func TestEventsCases(t *testing.T) {
	dir, found := Locate(".")
	if !found {
		t.Skipf("conformance corpus not found at %s; set %s", dir, EnvCorpus)
	}
	all, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*Case
	for _, c := range all {
		if slices.Contains(c.Requires, "events") {
			cases = append(cases, c)
		}
	}
	eng := Stepline{Handlers: filepath.Join("testdata", "lambda"), Work: t.TempDir()}
	outcomes := RunAll(context.Background(), eng, cases, 2, caseTimeout)
	tally := Total(outcomes)
	for _, o := range outcomes {
		switch {
		case o.Skip != "":
			t.Logf("skipped %s: %s", o.Case.Name, o.Skip)
		case !o.Match:
			t.Errorf("%s: %s", o.Case.Name, o.Mismatch)
		case o.HistoryRecorded && !o.HistoryMatch:
			t.Errorf("%s: history: %s", o.Case.Name, o.HistoryMismatch)
		}
	}
	t.Logf("%d cases need EventBridge: %d run, %d match, %d skipped", tally.Cases, tally.Run, tally.Match, tally.Skipped)
	if tally.Run < 5 {
		t.Errorf("only %d events cases ran", tally.Run)
	}
}
