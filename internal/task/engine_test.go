package task_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
	"github.com/stepline/stepline/internal/task"
)

// echo answers every invocation with its payload, and a function error for function "boom".
type echo struct{}

func (echo) Invoke(_ context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error) {
	if strings.HasSuffix(p.FunctionName, "boom") {
		return &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled",
			Payload: []byte(`{"errorMessage": "no", "errorType": "ValueError", "stackTrace": []}`)}, nil
	}
	return &lambda.InvokeResult{StatusCode: 200, Payload: p.Payload, ExecutedVersion: "$LATEST"}, nil
}

// TestDurable runs both Lambda forms through the durable engine on SQLite: the task's
// parameters and results survive the outbox and inbox, and a function error is caught by its
// errorType.
func TestDurable(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := engine.New(engine.Options{Store: s, Node: "n1", PollInterval: 5 * time.Millisecond,
		Runner: task.New(task.Options{Lambda: echo{}})})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	def := `{"StartAt":"Fn","States":{
		"Fn":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","Parameters":{"n":1.50},"ResultPath":"$.fn","Next":"Invoke"},
		"Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload.$":"$.fn"},
			"ResultSelector":{"p.$":"$.Payload","code.$":"$.StatusCode"},"ResultPath":"$.invoke","Next":"Boom"},
		"Boom":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"boom"},
			"Catch":[{"ErrorEquals":["ValueError"],"ResultPath":"$.err","Next":"Done"}],"End":true},
		"Done":{"Type":"Succeed"}}}`
	now := time.Now().UTC()
	sm, err := s.StateMachineCreate(ctx, &store.StateMachineCreateParams{
		Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm", Name: "sm", Type: store.StateMachineStandard, CreatedAt: now,
		Revision: store.Revision{RevisionID: "r1", RevisionCreatedAt: now, Definition: def, RoleArn: "arn:aws:iam::123456789012:role/r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.StartExecution(ctx, engine.StartParams{StateMachine: sm, Name: "x", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	var got *store.Execution
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got, err = s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: ex.Arn}); err != nil {
			t.Fatal(err)
		}
		if got.Status.Terminal() || time.Now().After(deadline) {
			break
		}
	}
	want := `{"fn":{"n":1.50},"invoke":{"p":{"n":1.50},"code":200},"err":{"Error":"ValueError","Cause":"{\"errorMessage\":\"no\",\"errorType\":\"ValueError\",\"stackTrace\":[]}"}}`
	if got.Status != store.StatusSucceeded || got.Output == nil || *got.Output != want {
		t.Fatalf("status %s output %v error %v cause %v\nwant %s", got.Status, deref(got.Output), deref(got.Error), deref(got.Cause), want)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
