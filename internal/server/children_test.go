package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// eventTypes lists the types of a history's events, with their previous event ids.
func eventTypes(events []types.HistoryEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%d %s <%d", e.Id, e.Type, e.PreviousEventId))
	}
	return out
}

// mapChildren returns the child executions of a Map Run, by their input (the item).
func (b *bundle) mapChildren(t *testing.T, mapRun string) map[string]*sfn.DescribeExecutionOutput {
	t.Helper()
	list, err := b.client.ListExecutions(context.Background(), &sfn.ListExecutionsInput{MapRunArn: aws.String(mapRun)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*sfn.DescribeExecutionOutput{}
	for _, c := range list.Executions {
		d, err := b.client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: c.ExecutionArn})
		if err != nil {
			t.Fatalf("DescribeExecution of child %s: %v", *c.ExecutionArn, err)
		}
		out[aws.ToString(d.Input)] = d
	}
	return out
}

// TestMapRunChildExecutions describes a distributed Map's child executions and reads their
// histories, while they run and after they ended, as AWS documents for child executions of
// a Map Run.
func TestMapRunChildExecutions(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("child-worker")})
	if err != nil {
		t.Fatal(err)
	}
	def := mapOnActivity(*act.ActivityArn, `"ToleratedFailureCount":1,`)
	machine := b.createMachine(t, "parent", def)
	exec := b.start(t, machine, "p-1", `[1,2]`)
	mapRun := *b.onlyMapRun(t, exec).MapRunArn

	kids := b.mapChildren(t, mapRun)
	one := kids["1"]
	if len(kids) != 2 || one == nil || one.Status != types.ExecutionStatusRunning || aws.ToString(one.MapRunArn) != mapRun ||
		*one.StateMachineArn != smArn+"parent/Items" || one.StopDate != nil || one.RedriveStatus != types.ExecutionRedriveStatusNotRedrivable {
		t.Fatalf("running children: %+v", kids)
	}
	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: one.ExecutionArn})
	if err != nil {
		t.Fatalf("GetExecutionHistory of a running child: %v", err)
	}
	if got := eventTypes(hist.Events); !slices.Equal(got[:3], []string{"1 ExecutionStarted <0", "2 TaskStateEntered <1", "3 ActivityScheduled <2"}) {
		t.Fatalf("running child's history: %v", got)
	}
	if d := hist.Events[0].ExecutionStartedEventDetails; d == nil || aws.ToString(d.Input) != "1" {
		t.Fatalf("ExecutionStarted details %+v", d)
	}

	for range 2 {
		task := b.pollTask(t, *act.ActivityArn)
		if *task.Input == "1" {
			_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`{"done":1}`)})
		} else {
			_, err = b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: task.TaskToken, Error: aws.String("Flaky"), Cause: aws.String("no luck")})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if done := b.waitDone(t, exec); done.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("parent %s", done.Status)
	}

	kids = b.mapChildren(t, mapRun)
	one, two := kids["1"], kids["2"]
	if one.Status != types.ExecutionStatusSucceeded || aws.ToString(one.Output) != `{"done":1}` || one.StopDate == nil ||
		one.StopDate.Before(*one.StartDate) || one.RedriveStatus != types.ExecutionRedriveStatusNotRedrivable {
		t.Fatalf("succeeded child: %+v", one)
	}
	// Its Map Run succeeded, tolerating the failure: nothing will redrive it.
	if two.Status != types.ExecutionStatusFailed || aws.ToString(two.Error) != "Flaky" || aws.ToString(two.Cause) != "no luck" ||
		two.Output != nil || two.RedriveStatus != types.ExecutionRedriveStatusNotRedrivable ||
		aws.ToString(two.RedriveStatusReason) != "Map Run is SUCCEEDED and cannot be redriven" {
		t.Fatalf("failed child: %+v", two)
	}
	if d := b.describeMapRun(t, mapRun); aws.ToInt64(d.ExecutionCounts.FailuresNotRedrivable) != 1 || aws.ToInt64(d.ItemCounts.FailuresNotRedrivable) != 1 {
		t.Fatalf("failuresNotRedrivable %d and %d, want 1", aws.ToInt64(d.ExecutionCounts.FailuresNotRedrivable), aws.ToInt64(d.ItemCounts.FailuresNotRedrivable))
	}

	hist, err = b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: one.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 ExecutionStarted <0", "2 TaskStateEntered <1", "3 ActivityScheduled <2", "4 ActivityStarted <3",
		"5 ActivitySucceeded <4", "6 TaskStateExited <5", "7 ExecutionSucceeded <6"}
	if got := eventTypes(hist.Events); !slices.Equal(got, want) {
		t.Fatalf("child's history:\n%v\nwant\n%v", got, want)
	}
	// Reverse order, in pages, as for any execution.
	var reversed []string
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: one.ExecutionArn, ReverseOrder: true, MaxResults: 3}
	for {
		page, err := b.client.GetExecutionHistory(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		reversed = append(reversed, eventTypes(page.Events)...)
		if in.NextToken = page.NextToken; in.NextToken == nil {
			break
		}
	}
	slices.Reverse(reversed)
	if !slices.Equal(reversed, want) {
		t.Fatalf("child's history in reverse pages: %v", reversed)
	}

	// None of the children's events are in the parent's history.
	parent, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range parent.Events {
		if e.Id != int64(i+1) || (i > 0 && (e.Type == types.HistoryEventTypeExecutionStarted || e.Type == types.HistoryEventTypeTaskStateEntered)) {
			t.Fatalf("parent's history: %v", eventTypes(parent.Events))
		}
	}

	sm, err := b.client.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: two.ExecutionArn})
	if err != nil {
		t.Fatalf("DescribeStateMachineForExecution of a child: %v", err)
	}
	if *sm.StateMachineArn != smArn+"parent/Items" || aws.ToString(sm.MapRunArn) != mapRun || aws.ToString(sm.Label) != "Items" || *sm.Definition != def {
		t.Fatalf("child's state machine: %s, map run %s, label %s", *sm.StateMachineArn, aws.ToString(sm.MapRunArn), aws.ToString(sm.Label))
	}
	sm, err = b.client.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(exec)})
	if err != nil || *sm.StateMachineArn != machine || sm.MapRunArn != nil || sm.Label != nil {
		t.Fatalf("parent's state machine: %+v, %v", sm, err)
	}

	// ListExecutions of the parent's machine lists the parent only.
	list, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	if err != nil || len(list.Executions) != 1 || *list.Executions[0].ExecutionArn != exec {
		t.Fatalf("ListExecutions of the machine: %+v, %v", list, err)
	}
}

// TestMapRunChildErrors checks the typed errors of the execution actions on child ARNs.
func TestMapRunChildErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	// EXPRESS children of a Pass processor: the Map ends at once.
	machine := b.createMachine(t, "express-kids", `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Fast",
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","Result":"ok","End":true}}},"End":true}}}`)
	exec := b.start(t, machine, "", `["a"]`)
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("parent %s", d.Status)
	}
	kids := b.mapChildren(t, *b.onlyMapRun(t, exec).MapRunArn)
	kid := kids[`"a"`]
	if kid == nil || kid.Status != types.ExecutionStatusSucceeded || aws.ToString(kid.Output) != `"ok"` {
		t.Fatalf("EXPRESS child: %+v", kids)
	}

	const unknown = "arn:aws:states:us-east-1:123456789012:execution:express-kids/Fast:00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"describe an unknown child", func() error {
			_, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(unknown)})
			return err
		}, new(*types.ExecutionDoesNotExist)},
		{"history of an unknown child", func() error {
			_, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(unknown)})
			return err
		}, new(*types.ExecutionDoesNotExist)},
		{"history of an EXPRESS child", func() error {
			_, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: kid.ExecutionArn})
			return err
		}, new(*types.InvalidArn)},
		{"state machine of an EXPRESS child", func() error {
			_, err := b.client.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: kid.ExecutionArn})
			return err
		}, new(*types.InvalidArn)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !errors.As(err, tt.want) {
				t.Fatalf("got %v, want %T", err, tt.want)
			}
		})
	}
}

// childAfterRedrive checks the child execution of item that its Map Run's redrive ran again.
func (b *bundle) childAfterRedrive(t *testing.T, mapRun, item string) {
	t.Helper()
	c := b.mapChildren(t, mapRun)[item]
	if c == nil || c.Status != types.ExecutionStatusSucceeded || aws.ToInt32(c.RedriveCount) != 1 || c.RedriveDate == nil ||
		time.Since(*c.RedriveDate) > time.Minute {
		t.Fatalf("redriven child %s: %+v", item, c)
	}
	hist, err := b.client.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: c.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 ExecutionStarted <0", "2 TaskStateEntered <1", "3 ActivityScheduled <2", "4 ActivityStarted <3",
		"5 ActivityFailed <4", "6 ExecutionFailed <5", "7 ExecutionRedriven <6", "8 TaskStateEntered <7", "9 ActivityScheduled <8",
		"10 ActivityStarted <9", "11 ActivitySucceeded <10", "12 TaskStateExited <11", "13 ExecutionSucceeded <12"}
	if got := eventTypes(hist.Events); !slices.Equal(got, want) {
		t.Fatalf("redriven child's history:\n%v\nwant\n%v", got, want)
	}
}

// TestStopChildExecution stops one child execution of a running Map Run: that child alone is
// aborted, its task is cancelled, the Map tolerates it as a failed item, and the child can be
// redriven only with its parent.
func TestStopChildExecution(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("stoppable")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "stop-kid", mapOnActivity(*act.ActivityArn, `"ToleratedFailureCount":1,`))
	exec := b.start(t, machine, "", `[1,2]`)
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	tasks := map[string]*sfn.GetActivityTaskOutput{}
	for range 2 {
		task := b.pollTask(t, *act.ActivityArn)
		tasks[*task.Input] = task
	}
	kid := b.mapChildren(t, mapRun)["1"]
	stopped, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: kid.ExecutionArn, Error: aws.String("Halt"), Cause: aws.String("by hand")})
	if err != nil {
		t.Fatalf("StopExecution of a child: %v", err)
	}
	kid = b.mapChildren(t, mapRun)["1"]
	if kid.Status != types.ExecutionStatusAborted || aws.ToString(kid.Error) != "Halt" || aws.ToString(kid.Cause) != "by hand" ||
		kid.StopDate == nil || !kid.StopDate.Equal(*stopped.StopDate) {
		t.Fatalf("stopped child: %+v (stop date %v)", kid, stopped.StopDate)
	}
	_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tasks["1"].TaskToken, Output: aws.String(`1`)})
	if !errors.As(err, new(*types.TaskTimedOut)) {
		t.Fatalf("SendTaskSuccess for the stopped child's task: %v", err)
	}
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusRunning || counts(d.ItemCounts) != "0/1/0/0/1/2" {
		t.Fatalf("Map Run after the stop: %s, items %s", d.Status, counts(d.ItemCounts))
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tasks["2"].TaskToken, Output: aws.String(`2`)}); err != nil {
		t.Fatal(err)
	}
	if done := b.waitDone(t, exec); done.Status != types.ExecutionStatusSucceeded || aws.ToString(done.Output) != `[null,2]` {
		t.Fatalf("parent %s %s", done.Status, aws.ToString(done.Output))
	}
	again, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: kid.ExecutionArn})
	if err != nil || !again.StopDate.Equal(*kid.StopDate) {
		t.Fatalf("stopping the ended child again: %+v, %v", again, err)
	}
	_, err = b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: kid.ExecutionArn})
	if !errors.As(err, new(*types.ExecutionNotRedrivable)) {
		t.Fatalf("RedriveExecution of a child: %v", err)
	}
}
