package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// echoRunner returns a task's parameters, or fails with the error its "fail" field names.
type echoRunner struct{}

func (echoRunner) Run(_ context.Context, t *engine.Task) (string, error) {
	if strings.Contains(t.Parameters, `"fail"`) {
		return "", &engine.TaskError{Name: "Custom", Cause: "asked to"}
	}
	return t.Parameters, nil
}

func TestRunExpress(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{Runner: echoRunner{}})
	const task = `"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"v.$":"$"},
		"Catch":[{"ErrorEquals":["Custom"],"ResultPath":"$.err","Next":"Caught"}],"End":true},"Caught":{"Type":"Pass","End":true}`
	const redrive = `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $exists($states.context.Execution.RedriveCount) %}","End":true}}}`
	for _, tc := range []struct {
		name, def, input string
		sync             bool
		status           interp.Status
		output, error    string
	}{
		{name: "pass", def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}}`, input: `{}`, status: interp.Succeeded, output: `1`},
		{name: "wait", def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`, input: `{"a":1}`, status: interp.Succeeded, output: `{"a":1}`},
		{name: "task", def: `{"StartAt":"T","States":{` + task + `}}`, input: `{"a":1}`, status: interp.Succeeded, output: `{"v":{"a":1}}`},
		{name: "task fails", def: `{"StartAt":"T","States":{` + task + `}}`, input: `{"fail":1}`, status: interp.Succeeded,
			output: `{"fail":1,"err":{"Error":"Custom","Cause":"asked to"}}`},
		{name: "fail", def: `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}`, input: `{}`, status: interp.Failed, error: "E"},
		// A synchronous execution cannot be redriven, so its context object has no RedriveCount.
		{name: "sync context", def: redrive, input: `{}`, sync: true, status: interp.Succeeded, output: `false`},
		{name: "async context", def: redrive, input: `{}`, status: interp.Succeeded, output: `true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := &store.StateMachine{Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:" + strings.ReplaceAll(tc.name, " ", "-"),
				Name: strings.ReplaceAll(tc.name, " ", "-"), Type: store.StateMachineExpress,
				Revision: store.Revision{RevisionID: tc.name, Definition: tc.def}}
			x, err := e.RunExpress(context.Background(), engine.StartParams{StateMachine: sm, Name: "run", Input: tc.input}, tc.sync)
			if err != nil {
				t.Fatal(err)
			}
			if x.Status != tc.status || text(x.Output) != tc.output || text(x.Error) != tc.error {
				t.Errorf("got %s %s %s, want %s %s %s", x.Status, text(x.Output), text(x.Error), tc.status, tc.output, tc.error)
			}
			prefix := "arn:aws:states:us-east-1:123456789012:express:" + sm.Name + ":run:"
			if !strings.HasPrefix(x.Arn, prefix) || len(x.Arn) != len(prefix)+36 {
				t.Errorf("arn = %s, want %s<uuid>", x.Arn, prefix)
			}
			if x.StopDate.Before(x.StartDate) {
				t.Errorf("stopped %v before it started %v", x.StopDate, x.StartDate)
			}
		})
	}
}

func TestStartExpress(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{})
	sm := &store.StateMachine{Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m", Name: "m", Type: store.StateMachineExpress,
		Revision: store.Revision{RevisionID: "r", Definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`}}
	if _, err := e.StartExpress(engine.StartParams{StateMachine: sm, Name: "bad", Input: `{`}); err == nil {
		t.Error("StartExpress accepted input that is not JSON")
	}
	x, err := e.StartExpress(engine.StartParams{StateMachine: sm, Name: "ok", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != interp.Running || !x.StopDate.IsZero() {
		t.Errorf("StartExpress returned %s stopped at %v, want it running", x.Status, x.StopDate)
	}
	if _, err := s.ExecutionGet(context.Background(), &store.ExecutionGetParams{Arn: x.Arn}); err == nil {
		t.Error("an express execution was stored")
	}
}

func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
