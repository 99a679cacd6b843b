package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// TestRedriveExecution fails an execution in its second state through an activity worker,
// redrives it, and lets the worker succeed: the first state does not run again.
func TestRedriveExecution(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("flaky")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "redriven", fmt.Sprintf(`{"StartAt":"First","States":{
		"First":{"Type":"Pass","Result":{"from":"first"},"Next":"Work"},
		"Work":{"Type":"Task","Resource":%q,"End":true}}}`, *act.ActivityArn))
	exec := b.start(t, machine, "x", "{}")
	task := b.pollTask(t, *act.ActivityArn)
	if _, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: task.TaskToken, Error: aws.String("Flaky")}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusFailed || d.RedriveStatus != types.ExecutionRedriveStatusRedrivable ||
		aws.ToInt32(d.RedriveCount) != 0 || d.RedriveDate != nil {
		t.Fatalf("failed execution: %s, redrive status %s, count %d, date %v", d.Status, d.RedriveStatus, aws.ToInt32(d.RedriveCount), d.RedriveDate)
	}

	out, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec)})
	if err != nil || out.RedriveDate == nil {
		t.Fatalf("RedriveExecution = %+v, %v", out, err)
	}
	task = b.pollTask(t, *act.ActivityArn)
	if *task.Input != `{"from":"first"}` {
		t.Fatalf("the redriven task's input is %s", *task.Input)
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`"done"`)}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusSucceeded || *d.Output != `"done"` ||
		aws.ToInt32(d.RedriveCount) != 1 || d.RedriveDate == nil || !d.RedriveDate.Equal(*out.RedriveDate) ||
		d.RedriveStatus != types.ExecutionRedriveStatusNotRedrivable {
		t.Fatalf("after the redrive: %s %v, redrive count %d, date %v, status %s", d.Status, aws.ToString(d.Output),
			aws.ToInt32(d.RedriveCount), d.RedriveDate, d.RedriveStatus)
	}
	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var redriven, firstEntered int
	for _, ev := range hist.Events {
		switch {
		case ev.Type == types.HistoryEventTypeExecutionRedriven:
			redriven++
			if ev.ExecutionRedrivenEventDetails == nil || ev.ExecutionRedrivenEventDetails.RedriveCount == nil ||
				*ev.ExecutionRedrivenEventDetails.RedriveCount != 1 {
				t.Errorf("ExecutionRedriven details: %+v", ev.ExecutionRedrivenEventDetails)
			}
		case ev.StateEnteredEventDetails != nil && *ev.StateEnteredEventDetails.Name == "First":
			firstEntered++
		}
	}
	if redriven != 1 || firstEntered != 1 {
		t.Fatalf("history has %d ExecutionRedriven and enters First %d times; want 1 and 1", redriven, firstEntered)
	}

	for filter, want := range map[types.ExecutionRedriveFilter]int{types.ExecutionRedriveFilterRedriven: 1, types.ExecutionRedriveFilterNotRedriven: 0} {
		list, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine), RedriveFilter: filter})
		if err != nil || len(list.Executions) != want {
			t.Fatalf("ListExecutions %s = %+v, %v; want %d", filter, list, err, want)
		}
	}

	refusals := []struct {
		name string
		arn  string
		want any
	}{
		{"a succeeded execution", exec, &types.ExecutionNotRedrivable{}},
		{"an unknown execution", exArn + "redriven:nope", &types.ExecutionDoesNotExist{}},
		{"not an execution ARN", machine, &types.InvalidArn{}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(tt.arn)})
			target := tt.want
			if !errors.As(err, &target) {
				t.Fatalf("error %v, want %T", err, tt.want)
			}
		})
	}
}

// TestRedriveNestedParallel fails one branch of a Parallel inside a Parallel branch and
// redrives: only that branch's task runs again, and the outputs of the others are kept.
func TestRedriveNestedParallel(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("nested")})
	if err != nil {
		t.Fatal(err)
	}
	task := func(which string) string {
		return fmt.Sprintf(`{"Type":"Task","Resource":%q,"Parameters":{"which":%q},"End":true}`, *act.ActivityArn, which)
	}
	machine := b.createMachine(t, "nested", `{"StartAt":"Outer","States":{"Outer":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"a","End":true}}},
		{"StartAt":"Pre","States":{"Pre":{"Type":"Pass","Next":"Inner"},"Inner":{"Type":"Parallel","End":true,"Branches":[
			{"StartAt":"X","States":{"X":`+task("x")+`}},
			{"StartAt":"Y","States":{"Y":`+task("y")+`}}]}}}]}}}`)
	exec := b.start(t, machine, "n", "{}")
	// X answers first, so that its success is recorded before Y's failure ends the execution.
	first, second := b.pollTask(t, *act.ActivityArn), b.pollTask(t, *act.ActivityArn)
	if *first.Input != `{"which":"x"}` {
		first, second = second, first
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: first.TaskToken, Output: aws.String(`"x"`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: second.TaskToken, Error: aws.String("Flaky")}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusFailed {
		t.Fatalf("execution %s, want FAILED", d.Status)
	}
	if _, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec)}); err != nil {
		t.Fatal(err)
	}
	again := b.pollTask(t, *act.ActivityArn)
	if *again.Input != `{"which":"y"}` {
		t.Fatalf("the redrive ran the task %s, want Y's only", *again.Input)
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: again.TaskToken, Output: aws.String(`"y"`)}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != `["a",["x","y"]]` {
		t.Fatalf("after the redrive: %s %s", d.Status, aws.ToString(d.Output))
	}
	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	entered := map[string]int{}
	for _, ev := range hist.Events {
		if ev.StateEnteredEventDetails != nil {
			entered[*ev.StateEnteredEventDetails.Name]++
		}
	}
	if want := map[string]int{"Outer": 2, "A": 1, "Pre": 1, "Inner": 2, "X": 1, "Y": 2}; fmt.Sprint(entered) != fmt.Sprint(want) {
		t.Fatalf("states entered %v, want %v", entered, want)
	}
}
