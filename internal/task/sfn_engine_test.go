package task_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
	"github.com/stepline/stepline/internal/task"
)

// world is a durable engine on SQLite with the service over it, whose Runner starts nested
// executions through that service, as `stepline serve` wires them.
type world struct {
	svc *service.Service
}

func newWorld(t testing.TB, s store.Store, node string, lam task.Lambda) *world {
	t.Helper()
	ctx := context.Background()
	runner := task.New(task.Options{Lambda: lam})
	e, err := engine.New(engine.Options{Store: s, Node: node, PollInterval: 5 * time.Millisecond, Runner: runner, WaitScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Options{Store: s, Engine: e, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	runner.SetExecutions(svc)
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return &world{svc: svc}
}

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (w *world) machine(t testing.TB, name, def string) string {
	t.Helper()
	sm, err := w.svc.CreateStateMachine(context.Background(), &service.CreateStateMachineInput{
		Name: name, Definition: def, RoleArn: "arn:aws:iam::123456789012:role/r"})
	if err != nil {
		t.Fatal(err)
	}
	return sm.Arn
}

func (w *world) start(t *testing.T, machine, name, input string) string {
	t.Helper()
	x, err := w.svc.StartExecution(context.Background(), &service.StartExecutionInput{StateMachineArn: machine, Name: name, Input: &input})
	if err != nil {
		t.Fatal(err)
	}
	return x.Arn
}

// await polls the execution until done says it is what the test waits for.
func (w *world) await(t *testing.T, arn string, done func(*store.Execution) bool) *store.Execution {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		x, err := w.svc.DescribeExecution(context.Background(), arn)
		if err != nil && service.CodeOf(err) != service.CodeExecutionDoesNotExist {
			t.Fatal(err)
		}
		if err == nil && done(x) {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v", arn, x)
		}
	}
}

func ended(x *store.Execution) bool { return x.Status.Terminal() }

const (
	passChild = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"Arg1":"argument1"},"End":true}}}`
	failChild = `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"SomeFailure","Cause":"This state machines raises a 'SomeFailure' failure."}}}`
)

func parent(resource, params string) string {
	return `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"` + resource + `","Parameters":` + params + `,"End":true}}}`
}

func decode(t *testing.T, s *string) map[string]any {
	t.Helper()
	if s == nil {
		t.Fatal("no JSON")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(*s), &m); err != nil {
		t.Fatalf("%v: %s", err, *s)
	}
	return m
}

func TestNestedSync(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	child := w.machine(t, "child", passChild)
	// AWS links the child to its parent when the input names the parent as
	// AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID, which the child receives as given.
	p := w.machine(t, "parent", parent("arn:aws:states:::states:startExecution.sync",
		`{"StateMachineArn":"`+child+`","Name":"kid","Input":{"a":1,"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$":"$$.Execution.Id"}}`))
	x := w.await(t, w.start(t, p, "p1", `{}`), ended)
	if x.Status != store.StatusSucceeded {
		t.Fatalf("parent %s %v %v", x.Status, deref(x.Error), deref(x.Cause))
	}
	out := decode(t, x.Output)
	want := map[string]any{
		"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:child:kid", "Name": "kid",
		"Input": `{"a":1,"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"arn:aws:states:us-east-1:123456789012:execution:parent:p1"}`, "Output": `{"Arg1":"argument1"}`, "Status": "SUCCEEDED", "StateMachineArn": child,
		"RedriveStatus": "NOT_REDRIVABLE", "RedriveCount": float64(0),
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %#v, want %#v", k, out[k], v)
		}
	}
	if _, ok := out["StopDate"].(float64); !ok {
		t.Errorf("StopDate %#v, want epoch milliseconds", out["StopDate"])
	}
	const events = "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSubmitted TaskSucceeded TaskStateExited ExecutionSucceeded"
	if got := w.history(t, x.Arn); got != events {
		t.Errorf("history %s\nwant %s", got, events)
	}
}

func TestNestedSync2FailingChild(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	child := w.machine(t, "child", failChild)
	p := w.machine(t, "parent", parent("arn:aws:states:::states:startExecution.sync:2",
		`{"StateMachineArn":"`+child+`","Name":"kid","Input":{"a":1}}`))
	x := w.await(t, w.start(t, p, "p1", `{}`), ended)
	if x.Status != store.StatusFailed || deref(x.Error) != "States.TaskFailed" {
		t.Fatalf("parent %s %v", x.Status, deref(x.Error))
	}
	cause := decode(t, x.Cause)
	if cause["Error"] != "SomeFailure" || cause["Status"] != "FAILED" || cause["RedriveStatus"] != "REDRIVABLE" {
		t.Errorf("cause %v", cause)
	}
	if in, ok := cause["Input"].(map[string]any); !ok || in["a"] != float64(1) {
		t.Errorf("Input %#v, want it parsed (.sync:2)", cause["Input"])
	}
}

// TestNestedCallback: the child completes its parent's task through the token, with
// aws-sdk:sfn:sendTaskSuccess.
func TestNestedCallback(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	child := w.machine(t, "child", parent("arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
		`{"TaskToken.$":"$.token","Output":{"done":true}}`))
	p := w.machine(t, "parent", parent("arn:aws:states:::states:startExecution.waitForTaskToken",
		`{"StateMachineArn":"`+child+`","Input":{"token.$":"$$.Task.Token"}}`))
	x := w.await(t, w.start(t, p, "p1", `{}`), ended)
	if x.Status != store.StatusSucceeded || deref(x.Output) != `{"done":true}` {
		t.Fatalf("parent %s output %v error %v cause %v", x.Status, deref(x.Output), deref(x.Error), deref(x.Cause))
	}
	const events = "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSubmitted TaskSucceeded TaskStateExited ExecutionSucceeded"
	if got := w.history(t, x.Arn); got != events {
		t.Errorf("history %s\nwant %s", got, events)
	}
}

func (w *world) history(t *testing.T, arn string) string {
	t.Helper()
	events, _, err := w.svc.GetExecutionHistory(context.Background(), &service.HistoryInput{ExecutionArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type)
	}
	return strings.Join(types, " ")
}

func TestNestedBadToken(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	p := w.machine(t, "parent", parent("arn:aws:states:::aws-sdk:sfn:sendTaskFailure", `{"TaskToken":"NoSuchTaskToken"}`))
	x := w.await(t, w.start(t, p, "p1", `{}`), ended)
	if x.Status != store.StatusFailed || deref(x.Error) != "Sfn.InvalidTokenException" {
		t.Fatalf("parent %s %v %v", x.Status, deref(x.Error), deref(x.Cause))
	}
}

// TestNestedStopParent: stopping the parent stops the child its .sync task waits for.
func TestNestedStopParent(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	child := w.machine(t, "child", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
	p := w.machine(t, "parent", parent("arn:aws:states:::states:startExecution.sync",
		`{"StateMachineArn":"`+child+`","Name":"kid"}`))
	parentArn := w.start(t, p, "p1", `{}`)
	kid := "arn:aws:states:us-east-1:123456789012:execution:child:kid"
	w.await(t, kid, func(x *store.Execution) bool { return x.Status == store.StatusRunning })
	if _, err := w.svc.StopExecution(context.Background(), parentArn, nil, nil); err != nil {
		t.Fatal(err)
	}
	x := w.await(t, kid, ended)
	if x.Status != store.StatusAborted {
		t.Fatalf("child %s, want ABORTED", x.Status)
	}
}

// TestNestedRunTwice: a .sync task run again with the same task id (its node died after
// starting the child) waits for the child it started rather than starting another.
func TestNestedRunTwice(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	child := w.machine(t, "child", passChild)
	r := task.New(task.Options{Executions: w.svc})
	tk := &engine.Task{ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:parent:p1", TaskID: "3",
		Resource: "arn:aws:states:::states:startExecution.sync", Parameters: `{"StateMachineArn":"` + child + `"}`}
	var arns []string
	for range 2 {
		out, err := r.Run(context.Background(), tk)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, decode(t, &out)["ExecutionArn"].(string))
	}
	if arns[0] != arns[1] {
		t.Fatalf("two children: %v", arns)
	}
	list, _, err := w.svc.ListExecutions(context.Background(), &service.ListExecutionsInput{StateMachineArn: child})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d executions of the child, %v", len(list), err)
	}
}

// TestNestedSyncToken: a .sync task has a task token too; a child that sends it completes
// its parent's task with that output (as AWS's recording callback__sync_with_task_token shows).
func TestNestedSyncToken(t *testing.T) {
	w := newWorld(t, openSQLite(t), "n1", nil)
	child := w.machine(t, "child", parent("arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
		`{"TaskToken.$":"$.TaskToken","Output":"\"SQS_SEND_MESSAGE_AND_WAIT\""}`))
	p := w.machine(t, "parent", parent("arn:aws:states:::states:startExecution.sync",
		`{"StateMachineArn":"`+child+`","Name":"kid","Input":{"TaskToken.$":"$$.Task.Token"}}`))
	x := w.await(t, w.start(t, p, "p1", `{}`), ended)
	if x.Status != store.StatusSucceeded || deref(x.Output) != `"SQS_SEND_MESSAGE_AND_WAIT"` {
		t.Fatalf("parent %s output %s error %s cause %s", x.Status, deref(x.Output), deref(x.Error), deref(x.Cause))
	}
	if kid := w.await(t, "arn:aws:states:us-east-1:123456789012:execution:child:kid", ended); kid.Status != store.StatusSucceeded {
		t.Fatalf("child %s", kid.Status)
	}
}
