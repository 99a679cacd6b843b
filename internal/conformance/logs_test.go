package conformance

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
)

// TestExecutionLogs runs the corpus's cases that recorded execution logs (logged_events,
// end_log_event: the CloudWatch Logs events of a loggingConfiguration) and requires every
// one to match, events and normalised text, as logged through the logs service.
func TestExecutionLogs(t *testing.T) {
	t.Parallel()
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
		if _, ok := c.Expect.Get("logged_events"); ok {
			cases = append(cases, c)
		} else if _, ok := c.Expect.Get("end_log_event"); ok {
			cases = append(cases, c)
		}
	}
	if len(cases) < 20 {
		t.Fatalf("%d cases record execution logs, want the corpus's 20", len(cases))
	}
	eng := Stepline{Handlers: filepath.Join("testdata", "lambda"), Work: t.TempDir()}
	outcomes := RunAll(context.Background(), eng, cases, runtime.GOMAXPROCS(0), caseTimeout)
	total := Total(outcomes)
	for _, o := range outcomes {
		switch {
		case o.Skip != "":
			t.Errorf("%s skipped: %s", o.Case.Name, o.Skip)
		case !o.Match:
			t.Errorf("%s: %s", o.Case.Name, o.Mismatch)
		case !o.LogsMatch:
			t.Errorf("%s: %s", o.Case.Name, o.LogsMismatch)
		}
	}
	t.Logf("execution logs: %d/%d cases match (status/output %d/%d)", total.LogsMatch, total.LogsRecorded, total.Match, total.Run)
}
