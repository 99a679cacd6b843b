package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// submittingRunner reports a submission at once, then holds the task like blockingRunner.
type submittingRunner struct{ *blockingRunner }

func (r submittingRunner) Run(ctx context.Context, t *engine.Task) (string, error) {
	t.Submitted(`{"ExecutionArn":"child"}`)
	return r.blockingRunner.Run(ctx, t)
}

// TestTaskSubmitted: a submission reported while the task runs is recorded at once, as
// TaskStarted and TaskSubmitted, before the task's result.
func TestTaskSubmitted(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	r := submittingRunner{newBlockingRunner(`"done"`)}
	e := newEngine(t, s, "a", engine.Options{Runner: r})
	sm := createMachine(t, s, "nested", `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","Parameters":{},"End":true}}}`)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	awaitStart(t, r.blockingRunner)
	const running = "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSubmitted"
	poll(t, "TaskSubmitted", func() bool { return typesSoFar(t, s, ex.Arn) == running })
	close(r.release)
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusSucceeded || deref(got.Output) != `"done"` {
		t.Fatalf("status %s output %s", got.Status, deref(got.Output))
	}
	if got, want := eventTypes(t, s, ex.Arn), running+" TaskSucceeded TaskStateExited ExecutionSucceeded"; got != want {
		t.Fatalf("history %s\nwant %s", got, want)
	}
}

// typesSoFar lists the types of an execution's events, running or not.
func typesSoFar(t *testing.T, s store.Store, arn string) string {
	t.Helper()
	res, err := s.HistoryList(context.Background(), &store.HistoryListParams{ExecutionArn: arn, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range res.Events {
		types = append(types, ev.Type)
	}
	return strings.Join(types, " ")
}
