package task_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// tokens is a Lambda that hands the task token in each payload to the test and answers at once.
type tokens chan string

func (c tokens) Invoke(_ context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error) {
	var in struct{ Token string }
	if err := json.Unmarshal(p.Payload, &in); err == nil && in.Token != "" {
		c <- in.Token
	}
	return &lambda.InvokeResult{StatusCode: 200, Payload: []byte(`{}`)}, nil
}

// TestCallbacksAcrossNodes: on two nodes sharing one PostgreSQL database, the tasks that wait
// for their token — Lambda's .waitForTaskToken, an activity, a nested execution's
// .waitForTaskToken — complete with SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat
// sent to the node that did not run them.
func TestCallbacksAcrossNodes(t *testing.T) {
	dsn, schema, _ := pgtest.Schema(t)
	var nodes [2]*world
	got := tokens(make(chan string, 4))
	for i, name := range []string{"a", "b"} {
		s, err := postgres.Open(t.Context(), postgres.Options{DSN: dsn, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes[i] = newWorld(t, s, name, got)
	}
	a, b := nodes[0], nodes[1]
	ctx := context.Background()

	t.Run("lambda", func(t *testing.T) {
		m := a.machine(t, "lambda-cb", `{"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"f","Payload":{"Token.$":"$$.Task.Token"}},"HeartbeatSeconds":600,
			"Catch":[{"ErrorEquals":["Nope"],"ResultPath":"$.err","Next":"Again"}],"Next":"Again"},
			"Again":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"f","Payload":{"Token.$":"$$.Task.Token"}},"ResultPath":"$.second","End":true}}}`)
		arn := a.start(t, m, "x", `{}`)
		tok := receive(t, got)
		if err := b.svc.SendTaskHeartbeat(ctx, tok); err != nil {
			t.Fatal(err)
		}
		errName, cause := "Nope", "from node b"
		if err := b.svc.SendTaskFailure(ctx, tok, &errName, &cause); err != nil {
			t.Fatal(err)
		}
		tok = receive(t, got)
		if err := a.svc.SendTaskSuccess(ctx, tok, `{"ok":1}`); err != nil {
			t.Fatal(err)
		}
		x := b.await(t, arn, ended)
		want := `{"err":{"Error":"Nope","Cause":"from node b"},"second":{"ok":1}}`
		if x.Status != store.StatusSucceeded || deref(x.Output) != want {
			t.Fatalf("%s %s, want %s", x.Status, deref(x.Output), want)
		}
	})

	t.Run("activity", func(t *testing.T) {
		act, err := a.svc.CreateActivity(ctx, "work", nil)
		if err != nil {
			t.Fatal(err)
		}
		m := a.machine(t, "activity-cb", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"`+act.Arn+`","HeartbeatSeconds":600,"End":true}}}`)
		arn := a.start(t, m, "x", `{"job":1}`)
		var tok string
		for deadline := time.Now().Add(30 * time.Second); tok == ""; {
			at, err := b.svc.GetActivityTask(ctx, act.Arn, "w", 0)
			if err != nil {
				t.Fatal(err)
			}
			if at != nil {
				tok = at.Token
			}
			if time.Now().After(deadline) {
				t.Fatal("no activity task")
			}
		}
		if err := a.svc.SendTaskHeartbeat(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.SendTaskSuccess(ctx, tok, `{"done":true}`); err != nil {
			t.Fatal(err)
		}
		if x := a.await(t, arn, ended); x.Status != store.StatusSucceeded || deref(x.Output) != `{"done":true}` {
			t.Fatalf("%s %s", x.Status, deref(x.Output))
		}
	})

	t.Run("nested", func(t *testing.T) {
		child := a.machine(t, "child-cb", `{"StartAt":"W","States":{"W":{"Type":"Pass","End":true}}}`)
		m := a.machine(t, "nested-cb", parent("arn:aws:states:::states:startExecution.waitForTaskToken",
			`{"StateMachineArn":"`+child+`","Name":"kid","Input":{"token.$":"$$.Task.Token"}}`))
		arn := a.start(t, m, "x", `{}`)
		kid := b.await(t, "arn:aws:states:us-east-1:123456789012:execution:child-cb:kid", ended)
		var in struct{ Token string }
		if err := json.Unmarshal([]byte(kid.Input), &in); err != nil || in.Token == "" {
			t.Fatalf("child input %s: %v", kid.Input, err)
		}
		if err := b.svc.SendTaskSuccess(ctx, in.Token, `"from the test"`); err != nil {
			t.Fatal(err)
		}
		if x := a.await(t, arn, ended); x.Status != store.StatusSucceeded || deref(x.Output) != `"from the test"` {
			t.Fatalf("%s %s", x.Status, deref(x.Output))
		}
	})
}

func receive(t *testing.T, c tokens) string {
	t.Helper()
	select {
	case tok := <-c:
		return tok
	case <-time.After(30 * time.Second):
		t.Fatal("no task token reached the function")
		return ""
	}
}
