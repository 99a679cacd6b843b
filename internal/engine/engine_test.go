package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
)

func openSQLite(t testing.TB, path string) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newEngine(t testing.TB, s store.Store, node string, o engine.Options) *engine.Engine {
	t.Helper()
	o.Store, o.Node = s, node
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Millisecond
	}
	e, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return e
}

func createMachine(t testing.TB, s store.Store, name, def string) *store.StateMachine {
	t.Helper()
	now := time.Now().UTC()
	sm, err := s.StateMachineCreate(context.Background(), &store.StateMachineCreateParams{
		Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:" + name, Name: name, Type: store.StateMachineStandard,
		CreatedAt: now, Revision: store.Revision{RevisionID: name + "-r1", RevisionCreatedAt: now, Definition: def, RoleArn: "arn:aws:iam::123456789012:role/r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sm
}

// waitEnd polls the store until the execution ended; executions here end within milliseconds.
func waitEnd(t testing.TB, s store.Store, arn string) *store.Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ex, err := s.ExecutionGet(context.Background(), &store.ExecutionGetParams{Arn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if ex.Status.Terminal() {
			return ex
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("execution %s did not end", arn)
	return nil
}

// checkHistory asserts a gap-free history with exactly one terminal event.
func checkHistory(t testing.TB, s store.Store, arn string) []*store.HistoryEvent {
	t.Helper()
	res, err := s.HistoryList(context.Background(), &store.HistoryListParams{ExecutionArn: arn, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ends := 0
	for i, ev := range res.Events {
		if ev.ID != int64(i+1) {
			t.Fatalf("history of %s has event %d at position %d", arn, ev.ID, i+1)
		}
		switch ev.Type {
		case "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut":
			ends++
		}
	}
	if ends != 1 {
		t.Fatalf("history of %s has %d terminal events", arn, ends)
	}
	return res.Events
}

func TestPassChainFinishesInStart(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{})
	sm := createMachine(t, s, "chain", `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1},"Next":"B"},"B":{"Type":"Pass","End":true}}}`)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{"in": 1}`})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != store.StatusSucceeded || *ex.Output != `{"x":1}` {
		t.Fatalf("status %s output %v", ex.Status, ex.Output)
	}
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusSucceeded || got.StopDate == nil {
		t.Fatalf("stored status %s", got.Status)
	}
	checkHistory(t, s, ex.Arn)
	_, err = e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if !errors.Is(err, engine.ErrExecutionExists) {
		t.Fatalf("second start with the same name: %v", err)
	}
}

func TestWaitRetryAndActivity(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{WaitScale: 0})
	activity := "arn:aws:states:us-east-1:123456789012:activity:work"
	if _, err := s.ActivityCreate(context.Background(), &store.ActivityCreateParams{Arn: activity, Name: "work", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sm := createMachine(t, s, "mixed", fmt.Sprintf(`{"StartAt":"W","States":{
		"W":{"Type":"Wait","Seconds":3600,"Next":"A"},
		"A":{"Type":"Task","Resource":%q,"Next":"L"},
		"L":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":1}],
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Done"}],"End":true},
		"Done":{"Type":"Succeed"}}}`, activity))
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	var task *engine.ActivityTask
	for deadline := time.Now().Add(10 * time.Second); task == nil && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if task, err = e.GetActivityTask(context.Background(), activity, "worker-1"); err != nil {
			t.Fatal(err)
		}
	}
	if task == nil {
		t.Fatal("no activity task")
	}
	if err := e.SendTaskSuccess(context.Background(), task.Token, `{"done":true}`); err != nil {
		t.Fatal(err)
	}
	if err := e.SendTaskSuccess(context.Background(), task.Token, `{}`); !errors.Is(err, engine.ErrInvalidToken) {
		t.Errorf("second SendTaskSuccess: %v, want ErrInvalidToken", err)
	}
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusSucceeded {
		t.Fatalf("status %s %v %v", got.Status, deref(got.Error), deref(got.Cause))
	}
	if !strings.Contains(*got.Output, `"done":true`) || !strings.Contains(*got.Output, "no task runner") {
		t.Errorf("output %s", *got.Output)
	}
	var types []string
	for _, ev := range checkHistory(t, s, ex.Arn) {
		types = append(types, ev.Type)
	}
	want := "ExecutionStarted WaitStateEntered WaitStateExited TaskStateEntered ActivityScheduled ActivityStarted ActivitySucceeded TaskStateExited " +
		"TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionFailed LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionFailed TaskStateExited " +
		"SucceedStateEntered SucceedStateExited ExecutionSucceeded"
	if strings.Join(types, " ") != want {
		t.Errorf("history\n got %s\nwant %s", strings.Join(types, " "), want)
	}
}

func TestStopExecution(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{WaitScale: 1})
	sm := createMachine(t, s, "long", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	cause := "enough"
	if err := e.StopExecution(context.Background(), ex.Arn, nil, &cause); err != nil {
		t.Fatal(err)
	}
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusAborted || deref(got.Cause) != cause || got.Error != nil {
		t.Fatalf("status %s error %s cause %s", got.Status, deref(got.Error), deref(got.Cause))
	}
	if err := e.StopExecution(context.Background(), ex.Arn, nil, nil); !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("stopping a stopped execution: %v", err)
	}
}

// TestTakeover stops one node while its executions wait, and a second node on the same
// database finishes every one of them exactly once: waiting executions belong to no node.
func TestTakeover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s := openSQLite(t, path)
	first, err := engine.New(engine.Options{Store: s, Node: "n1", WaitScale: 1, PollInterval: 5 * time.Millisecond, LeaseTTL: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sm := createMachine(t, s, "wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"P"},"P":{"Type":"Pass","Result":"done","End":true}}}`)
	var arns []string
	for i := range 20 {
		ex, err := first.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: fmt.Sprint("e", i), Input: `{}`})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, ex.Arn)
	}
	// A process killed mid-step is exercised by the crash test of the serve command.
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	newEngine(t, s, "n2", engine.Options{WaitScale: 1, LeaseTTL: 200 * time.Millisecond})
	for _, arn := range arns {
		got := waitEnd(t, s, arn)
		if got.Status != store.StatusSucceeded || *got.Output != `"done"` {
			t.Fatalf("%s: status %s output %v", arn, got.Status, got.Output)
		}
		checkHistory(t, s, arn)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
