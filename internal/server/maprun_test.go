package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// mapOnActivity is a distributed Map labelled Items whose iterations each wait on an activity
// task, so that a test decides when each child execution ends.
func mapOnActivity(activity, settings string) string {
	return fmt.Sprintf(`{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Items",%s
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Work",
			"States":{"Work":{"Type":"Task","Resource":%q,"End":true}}},"End":true}}}`, settings, activity)
}

// onlyMapRun returns the one Map Run of an execution.
func (b *bundle) onlyMapRun(t *testing.T, exec string) types.MapRunListItem {
	t.Helper()
	out, err := b.client.ListMapRuns(context.Background(), &sfn.ListMapRunsInput{ExecutionArn: aws.String(exec)})
	if err != nil {
		t.Fatalf("ListMapRuns: %v", err)
	}
	if len(out.MapRuns) != 1 || out.NextToken != nil {
		t.Fatalf("ListMapRuns = %+v, want one Map Run", out.MapRuns)
	}
	return out.MapRuns[0]
}

func (b *bundle) describeMapRun(t *testing.T, arn string) *sfn.DescribeMapRunOutput {
	t.Helper()
	d, err := b.client.DescribeMapRun(context.Background(), &sfn.DescribeMapRunInput{MapRunArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeMapRun: %v", err)
	}
	return d
}

// counts renders item counts as pending/running/succeeded/failed/aborted/total.
func counts(c *types.MapRunItemCounts) string {
	return fmt.Sprintf("%d/%d/%d/%d/%d/%d", c.Pending, c.Running, c.Succeeded, c.Failed, c.Aborted, c.Total)
}

// TestMapRunWhileRunningAndAfter inspects a Map Run while its children wait on an activity,
// raises its MaxConcurrency so that all of them run, and inspects it again once it ended.
func TestMapRunWhileRunningAndAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("item-worker")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "maps", mapOnActivity(*act.ActivityArn, `"MaxConcurrency":1,`))
	exec := b.start(t, machine, "run-1", `[1,2,3,4]`)

	item := b.onlyMapRun(t, exec)
	if *item.ExecutionArn != exec || *item.StateMachineArn != smArn+"maps/Items" || item.StopDate != nil ||
		!strings.HasPrefix(*item.MapRunArn, "arn:aws:states:us-east-1:123456789012:mapRun:maps/Items:") {
		t.Fatalf("Map Run %+v", item)
	}
	mapRun := *item.MapRunArn
	d := b.describeMapRun(t, mapRun)
	if d.Status != types.MapRunStatusRunning || d.MaxConcurrency != 1 || d.StopDate != nil || *d.ExecutionArn != exec ||
		counts(d.ItemCounts) != "3/1/0/0/0/4" || d.ExecutionCounts.Total != 1 || d.ExecutionCounts.Running != 1 ||
		d.ToleratedFailureCount != 0 || d.ToleratedFailurePercentage != 0 {
		t.Fatalf("running Map Run: %s, max %d, items %s, executions %+v", d.Status, d.MaxConcurrency, counts(d.ItemCounts), d.ExecutionCounts)
	}
	children, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: aws.String(mapRun)})
	if err != nil {
		t.Fatal(err)
	}
	if len(children.Executions) != 1 {
		t.Fatalf("children %+v", children.Executions)
	}
	child := children.Executions[0]
	if child.Status != types.ExecutionStatusRunning || *child.MapRunArn != mapRun || *child.StateMachineArn != smArn+"maps/Items" ||
		!strings.HasPrefix(*child.ExecutionArn, "arn:aws:states:us-east-1:123456789012:execution:maps/Items:") ||
		!strings.HasSuffix(*child.ExecutionArn, ":"+*child.Name) || aws.ToInt32(child.ItemCount) != 1 || child.StopDate != nil {
		t.Fatalf("child %+v", child)
	}

	// The update reaches the running execution: the other three items start at once.
	if _, err := b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(mapRun), MaxConcurrency: aws.Int32(4)}); err != nil {
		t.Fatalf("UpdateMapRun: %v", err)
	}
	if d := b.describeMapRun(t, mapRun); d.MaxConcurrency != 4 || counts(d.ItemCounts) != "0/4/0/0/0/4" {
		t.Fatalf("after UpdateMapRun: max %d, items %s", d.MaxConcurrency, counts(d.ItemCounts))
	}
	for i := range 4 {
		task := b.pollTask(t, *act.ActivityArn)
		if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if done := b.waitDone(t, exec); done.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s", done.Status, aws.ToString(done.Cause))
	}

	// The record stays after the Map ended.
	d = b.describeMapRun(t, mapRun)
	if d.Status != types.MapRunStatusSucceeded || d.StopDate == nil || d.StopDate.Before(*d.StartDate) ||
		counts(d.ItemCounts) != "0/0/4/0/0/4" || d.ItemCounts.ResultsWritten != 4 || d.ExecutionCounts.Succeeded != 4 {
		t.Fatalf("ended Map Run: %s, stop %v, items %s", d.Status, d.StopDate, counts(d.ItemCounts))
	}
	if item := b.onlyMapRun(t, exec); item.StopDate == nil || !item.StopDate.Equal(*d.StopDate) {
		t.Fatalf("ListMapRuns after the end: %+v", item)
	}
	tests := []struct {
		name   string
		filter types.ExecutionStatus
		pages  []int // executions per page
	}{
		{name: "succeeded, in pages of three", filter: types.ExecutionStatusSucceeded, pages: []int{3, 1}},
		{name: "all, in pages of three", pages: []int{3, 1}},
		{name: "running", filter: types.ExecutionStatusRunning, pages: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sfn.ListExecutionsInput{MapRunArn: aws.String(mapRun), StatusFilter: tt.filter, MaxResults: 3}
			seen := map[string]bool{}
			for i, want := range tt.pages {
				out, err := b.client.ListExecutions(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Executions) != want || (out.NextToken != nil) != (i < len(tt.pages)-1) {
					t.Fatalf("page %d: %d executions, next %v", i, len(out.Executions), aws.ToString(out.NextToken))
				}
				for _, x := range out.Executions {
					if x.Status != types.ExecutionStatusSucceeded || x.StopDate == nil || seen[*x.ExecutionArn] {
						t.Fatalf("page %d: %+v", i, x)
					}
					seen[*x.ExecutionArn] = true
				}
				in.NextToken = out.NextToken
			}
		})
	}

	_, err = b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(mapRun), MaxConcurrency: aws.Int32(1)})
	if !errors.As(err, new(*types.ValidationException)) {
		t.Fatalf("UpdateMapRun of an ended Map Run: %v", err)
	}
}

// TestUpdateMapRunThresholds lowers a running Map Run's tolerated failures below the failures
// it had: the Map fails at once.
func TestUpdateMapRunThresholds(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("flaky-worker")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "tolerant", mapOnActivity(*act.ActivityArn, `"MaxConcurrency":1,"ToleratedFailureCount":1,`))
	exec := b.start(t, machine, "", `[1,2,3]`)
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	task := b.pollTask(t, *act.ActivityArn)
	if _, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: task.TaskToken, Error: aws.String("Flaky")}); err != nil {
		t.Fatal(err)
	}
	// The failure is tolerated: the second item starts.
	deadline := time.Now().Add(10 * time.Second)
	for d := b.describeMapRun(t, mapRun); counts(d.ItemCounts) != "1/1/0/1/0/3"; d = b.describeMapRun(t, mapRun) {
		if time.Now().After(deadline) {
			t.Fatalf("items %s after a tolerated failure", counts(d.ItemCounts))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(mapRun), ToleratedFailureCount: aws.Int64(0)}); err != nil {
		t.Fatalf("UpdateMapRun: %v", err)
	}
	done := b.waitDone(t, exec)
	if done.Status != types.ExecutionStatusFailed || aws.ToString(done.Error) != "States.ExceedToleratedFailureThreshold" {
		t.Fatalf("execution %s %s", done.Status, aws.ToString(done.Error))
	}
	d := b.describeMapRun(t, mapRun)
	if d.Status != types.MapRunStatusFailed || d.ToleratedFailureCount != 0 || counts(d.ItemCounts) != "1/0/0/1/1/3" || d.StopDate == nil {
		t.Fatalf("failed Map Run: %s, tolerated %d, items %s", d.Status, d.ToleratedFailureCount, counts(d.ItemCounts))
	}
}

// TestMapRunErrors checks the typed errors of the Map Run actions.
func TestMapRunErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	const unknown = "arn:aws:states:us-east-1:123456789012:mapRun:nope/Items:nope-1"
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"DescribeMapRun of an unknown Map Run", func() error {
			_, err := b.client.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: aws.String(unknown)})
			return err
		}, new(*types.ResourceNotFound)},
		{"DescribeMapRun of a Map Run ARN Stepline never makes", func() error {
			_, err := b.client.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: aws.String("arn:aws:states:us-east-1:123456789012:mapRun:sm/Items:" + strings.Repeat("a", 36))})
			return err
		}, new(*types.ResourceNotFound)},
		{"DescribeMapRun of an execution ARN", func() error {
			_, err := b.client.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:sm:e")})
			return err
		}, new(*types.InvalidArn)},
		{"DescribeMapRun of no ARN", func() error {
			_, err := b.client.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: aws.String("nope")})
			return err
		}, new(*types.InvalidArn)},
		{"UpdateMapRun of an unknown Map Run", func() error {
			_, err := b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(unknown), MaxConcurrency: aws.Int32(2)})
			return err
		}, new(*types.ResourceNotFound)},
		{"UpdateMapRun over 100%", func() error {
			_, err := b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(unknown), ToleratedFailurePercentage: aws.Float32(101)})
			return err
		}, new(*types.ValidationException)},
		{"UpdateMapRun with a negative MaxConcurrency", func() error {
			_, err := b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(unknown), MaxConcurrency: aws.Int32(-1)})
			return err
		}, new(*types.ValidationException)},
		{"ListMapRuns of an unknown execution", func() error {
			_, err := b.client.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:sm:e")})
			return err
		}, new(*types.ExecutionDoesNotExist)},
		{"ListMapRuns of a Map Run ARN", func() error {
			_, err := b.client.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String(unknown)})
			return err
		}, new(*types.InvalidArn)},
		{"ListExecutions of an unknown Map Run", func() error {
			_, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: aws.String(unknown)})
			return err
		}, new(*types.ResourceNotFound)},
		{"ListExecutions of a Map Run and a state machine", func() error {
			_, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: aws.String(unknown), StateMachineArn: aws.String(smArn + "sm")})
			return err
		}, new(*types.ValidationException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.As(err, tt.want) {
				t.Fatalf("error %v, want %T", err, tt.want)
			}
		})
	}
}
