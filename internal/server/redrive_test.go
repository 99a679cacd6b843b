package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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

// TestRedriveMapRun fails one child execution of a distributed Map with no tolerated failures
// and redrives the execution: the same Map Run is redriven (MapRunRedriven), only the failed
// child runs again, and DescribeMapRun and ListExecutions report the redrive.
func TestRedriveMapRun(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("map-worker")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "redriven-map", mapOnActivity(*act.ActivityArn, `"ToleratedFailureCount":0,`))
	exec := b.start(t, machine, "m", `[1,2,3]`)
	tasks := map[string]*sfn.GetActivityTaskOutput{}
	for range 3 {
		task := b.pollTask(t, *act.ActivityArn)
		tasks[*task.Input] = task
	}
	for _, item := range []string{"1", "3"} {
		if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tasks[item].TaskToken, Output: aws.String(`"ok-` + item + `"`)}); err != nil {
			t.Fatal(err)
		}
	}
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	deadline := time.Now().Add(10 * time.Second)
	for d := b.describeMapRun(t, mapRun); d.ItemCounts.Succeeded != 2; d = b.describeMapRun(t, mapRun) {
		if time.Now().After(deadline) {
			t.Fatalf("items %s after two successes", counts(d.ItemCounts))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: tasks["2"].TaskToken, Error: aws.String("Flaky")}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusFailed {
		t.Fatalf("first run: %s", d.Status)
	}
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusFailed || aws.ToInt32(d.RedriveCount) != 0 || d.RedriveDate != nil ||
		d.ExecutionCounts.Failed != 1 || aws.ToInt64(d.ExecutionCounts.FailuresNotRedrivable) != 0 {
		t.Fatalf("failed Map Run: %s, redrive count %d, date %v, executions %+v", d.Status, aws.ToInt32(d.RedriveCount), d.RedriveDate, d.ExecutionCounts)
	}
	if c := b.mapChildren(t, mapRun)["2"]; c.Status != types.ExecutionStatusFailed || c.RedriveStatus != types.ExecutionRedriveStatusRedrivableByMapRun {
		t.Fatalf("failed child before the redrive: %s, %s", c.Status, c.RedriveStatus)
	}

	out, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec)})
	if err != nil {
		t.Fatalf("RedriveExecution: %v", err)
	}
	task := b.pollTask(t, *act.ActivityArn)
	if *task.Input != "2" {
		t.Fatalf("the redrive ran item %s, want 2", *task.Input)
	}
	d := b.describeMapRun(t, mapRun)
	if d.Status != types.MapRunStatusRunning || aws.ToInt32(d.RedriveCount) != 1 || d.RedriveDate == nil ||
		d.RedriveDate.Sub(*out.RedriveDate).Abs() > time.Second || d.StopDate != nil ||
		counts(d.ItemCounts) != "0/1/2/0/0/3" || d.ExecutionCounts.Total != 3 {
		t.Fatalf("redriven Map Run: %s, redrive count %d, date %v (execution's %v), items %s", d.Status,
			aws.ToInt32(d.RedriveCount), d.RedriveDate, out.RedriveDate, counts(d.ItemCounts))
	}
	for filter, want := range map[types.ExecutionRedriveFilter]int{types.ExecutionRedriveFilterRedriven: 1, types.ExecutionRedriveFilterNotRedriven: 2} {
		list, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: aws.String(mapRun), RedriveFilter: filter})
		if err != nil || len(list.Executions) != want {
			t.Fatalf("ListExecutions %s = %+v, %v; want %d", filter, list, err, want)
		}
		for _, c := range list.Executions {
			redriven := filter == types.ExecutionRedriveFilterRedriven
			if redriven != (aws.ToInt32(c.RedriveCount) == 1 && c.RedriveDate != nil && c.Status == types.ExecutionStatusRunning) {
				t.Fatalf("ListExecutions %s: %+v", filter, c)
			}
		}
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`"ok-2"`)}); err != nil {
		t.Fatal(err)
	}
	if done := b.waitDone(t, exec); done.Status != types.ExecutionStatusSucceeded || *done.Output != `["ok-1","ok-2","ok-3"]` {
		t.Fatalf("after the redrive: %s %v", done.Status, aws.ToString(done.Output))
	}
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusSucceeded || aws.ToInt32(d.RedriveCount) != 1 ||
		counts(d.ItemCounts) != "0/0/3/0/0/3" || d.StopDate == nil {
		t.Fatalf("Map Run after the redrive: %s, redrive count %d, items %s", d.Status, aws.ToInt32(d.RedriveCount), counts(d.ItemCounts))
	}
	b.onlyMapRun(t, exec) // still one Map Run
	b.childAfterRedrive(t, mapRun, "2")

	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var started, redriven int
	for _, ev := range hist.Events {
		switch ev.Type {
		case types.HistoryEventTypeMapRunStarted:
			started++
		case types.HistoryEventTypeMapRunRedriven:
			redriven++
			if det := ev.MapRunRedrivenEventDetails; det == nil || aws.ToString(det.MapRunArn) != mapRun || aws.ToInt32(det.RedriveCount) != 1 {
				t.Errorf("MapRunRedriven details: %+v", det)
			}
		}
	}
	if started != 1 || redriven != 1 {
		t.Fatalf("history has %d MapRunStarted and %d MapRunRedriven; want 1 and 1", started, redriven)
	}
}
