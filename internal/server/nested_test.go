package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// A parent running a child with .sync:2 through the SDK: the child fails, so the parent's
// task fails with States.TaskFailed and the child's DescribeExecution as its cause, and the
// parent fails with them; a succeeding child's output comes back parsed.
func TestNestedSync2FailingChildThroughSDK(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	failing := b.createMachine(t, "child-fails", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Child.Broke","Cause":"on purpose"}}}`)
	good := b.createMachine(t, "child-ok", `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"n":1},"End":true}}}`)
	parent := b.createMachine(t, "parent", `{"StartAt":"Child","States":{"Child":{"Type":"Task",
		"Resource":"arn:aws:states:::states:startExecution.sync:2",
		"Parameters":{"StateMachineArn.$":"$.child","Input":{"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$":"$$.Execution.Id"}},
		"End":true}}}`)

	ex := b.start(t, parent, "", `{"child":"`+failing+`"}`)
	d := b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "States.TaskFailed" {
		t.Fatalf("parent of a failing child = %s %q", d.Status, aws.ToString(d.Error))
	}
	var cause struct {
		ExecutionArn, StateMachineArn, Status, Error, Cause string
		Input                                               map[string]string
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Cause)), &cause); err != nil {
		t.Fatalf("cause %q: %v", aws.ToString(d.Cause), err)
	}
	if cause.Status != "FAILED" || cause.Error != "Child.Broke" || cause.Cause != "on purpose" || cause.StateMachineArn != failing ||
		!strings.HasPrefix(cause.ExecutionArn, exArn+"child-fails:") || cause.Input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] != ex {
		t.Fatalf("cause = %+v", cause)
	}
	h, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(ex)})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []types.HistoryEventType
	for _, e := range h.Events {
		kinds = append(kinds, e.Type)
	}
	want := []types.HistoryEventType{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskFailed", "ExecutionFailed"}
	if len(kinds) != len(want) {
		t.Fatalf("history = %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("history = %v, want %v", kinds, want)
		}
	}

	ex = b.start(t, parent, "", `{"child":"`+good+`"}`)
	d = b.waitDone(t, ex)
	var out struct {
		Status string
		Output map[string]int
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || d.Status != types.ExecutionStatusSucceeded ||
		out.Status != "SUCCEEDED" || out.Output["n"] != 1 {
		t.Fatalf("parent of a succeeding child = %s %s (%v)", d.Status, aws.ToString(d.Output), err)
	}
}
