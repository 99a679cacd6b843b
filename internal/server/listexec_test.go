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

// TestListExecutionsOfVersionsAndAliases lists the executions started through a version or an
// alias: a version's include those an alias routed to it, an alias's only those started
// through it, and each item names its version and alias.
func TestListExecutionsOfVersionsAndAliases(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	machine := b.createMachine(t, "listed", passChain)
	v1 := b.publish(t, machine)
	alias, err := b.client.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{Name: aws.String("prod"),
		RoutingConfiguration: []types.RoutingConfigurationListItem{{StateMachineVersionArn: aws.String(v1), Weight: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	prod := *alias.StateMachineAliasArn
	for _, start := range []struct{ name, arn string }{{"plain", machine}, {"by-version", v1}, {"by-alias", prod}} {
		b.waitDone(t, b.start(t, start.arn, start.name, "{}"))
	}
	list := func(arn string) ([]types.ExecutionListItem, error) {
		out, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			return nil, err
		}
		return out.Executions, nil
	}
	names := func(items []types.ExecutionListItem) []string {
		var out []string
		for _, x := range items {
			out = append(out, *x.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		arn  string
		want []string
	}{
		{machine, []string{"by-alias", "by-version", "plain"}},
		{v1, []string{"by-alias", "by-version"}},
		{prod, []string{"by-alias"}},
	} {
		items, err := list(tt.arn)
		if err != nil || !slices.Equal(names(items), tt.want) {
			t.Fatalf("ListExecutions(%s) = %v, %v; want %v", tt.arn, names(items), err, tt.want)
		}
	}
	items, _ := list(machine)
	for _, x := range items {
		want := map[string][2]string{"plain": {}, "by-version": {v1, ""}, "by-alias": {v1, prod}}[*x.Name]
		if aws.ToString(x.StateMachineVersionArn) != want[0] || aws.ToString(x.StateMachineAliasArn) != want[1] ||
			*x.StateMachineArn != machine {
			t.Errorf("item %s: machine %s, version %q, alias %q; want version %q, alias %q", *x.Name, *x.StateMachineArn,
				aws.ToString(x.StateMachineVersionArn), aws.ToString(x.StateMachineAliasArn), want[0], want[1])
		}
	}

	for _, arn := range []string{machine, v1, prod} {
		out, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn),
			StatusFilter: types.ExecutionStatusPendingRedrive})
		if err != nil || len(out.Executions) != 0 {
			t.Fatalf("ListExecutions(%s, PENDING_REDRIVE) = %+v, %v; want none", arn, out, err)
		}
	}
	_, err = b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine + ":staging"),
		StatusFilter: types.ExecutionStatusPendingRedrive})
	if !errors.As(err, new(*types.ResourceNotFound)) {
		t.Fatalf("ListExecutions of a missing alias, PENDING_REDRIVE: %v, want ResourceNotFound", err)
	}

	refusals := []struct {
		name string
		arn  string
		want any
	}{
		{"a version never published", machine + ":7", &types.ResourceNotFound{}},
		{"an alias that does not exist", machine + ":staging", &types.ResourceNotFound{}},
		{"a version of a machine that does not exist", smArn + "nope:1", &types.StateMachineDoesNotExist{}},
		{"version zero", machine + ":0", &types.InvalidArn{}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := list(tt.arn)
			target := tt.want
			if !errors.As(err, &target) {
				t.Fatalf("ListExecutions(%s): %v, want %T", tt.arn, err, tt.want)
			}
		})
	}
}

// TestRedriveClientToken redrives with a client token: the same token answers with the same
// redrive and redrives nothing, another token redrives again once the execution failed again,
// and ListExecutions reports the redrives.
func TestRedriveClientToken(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("flaky")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "tokened", fmt.Sprintf(`{"StartAt":"Work","States":{
		"Work":{"Type":"Task","Resource":%q,"End":true}}}`, *act.ActivityArn))
	exec := b.start(t, machine, "x", "{}")
	fail := func() {
		t.Helper()
		task := b.pollTask(t, *act.ActivityArn)
		if _, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: task.TaskToken, Error: aws.String("Flaky")}); err != nil {
			t.Fatal(err)
		}
		if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusFailed {
			t.Fatalf("execution %s, want FAILED", d.Status)
		}
	}
	redrive := func(token string) *sfn.RedriveExecutionOutput {
		t.Helper()
		out, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec), ClientToken: aws.String(token)})
		if err != nil {
			t.Fatalf("RedriveExecution(%s): %v", token, err)
		}
		return out
	}
	fail()
	first := redrive("token-a")
	again := redrive("token-a")
	if !again.RedriveDate.Equal(*first.RedriveDate) {
		t.Fatalf("the same token answered %v, then %v", first.RedriveDate, again.RedriveDate)
	}
	fail()
	if d, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec)}); err != nil ||
		aws.ToInt32(d.RedriveCount) != 1 || !d.RedriveDate.Equal(*first.RedriveDate) {
		t.Fatalf("after one redrive sent twice: %+v, %v", d, err)
	}
	// The first token's redrive is over: it still gets its answer, and nothing is redriven.
	if out := redrive("token-a"); !out.RedriveDate.Equal(*first.RedriveDate) {
		t.Fatalf("the first token answered %v after the execution failed again, want %v", out.RedriveDate, first.RedriveDate)
	}
	second := redrive("token-b")
	d, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec)})
	if err != nil || aws.ToInt32(d.RedriveCount) != 2 || !d.RedriveDate.Equal(*second.RedriveDate) || d.Status != types.ExecutionStatusRunning {
		t.Fatalf("after a second token: %+v, %v", d, err)
	}
	list, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	if err != nil || len(list.Executions) != 1 {
		t.Fatalf("ListExecutions = %+v, %v", list, err)
	}
	if x := list.Executions[0]; aws.ToInt32(x.RedriveCount) != 2 || x.RedriveDate == nil || !x.RedriveDate.Equal(*second.RedriveDate) {
		t.Fatalf("listed redriven execution: count %d, date %v", aws.ToInt32(x.RedriveCount), x.RedriveDate)
	}
	plain := b.start(t, b.createMachine(t, "plain", passChain), "p", "{}")
	b.waitDone(t, plain)
	list, err = b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smArn + "plain")})
	// As AWS lists it: redriveCount 0, and no redriveDate.
	if err != nil || len(list.Executions) != 1 || list.Executions[0].RedriveCount == nil || *list.Executions[0].RedriveCount != 0 ||
		list.Executions[0].RedriveDate != nil {
		t.Fatalf("an execution never redriven is listed with %+v, %v; want redriveCount 0 and no redriveDate", list, err)
	}
}

// TestTooManyTagsNamesTheResource checks TooManyTags' resourceName.
func TestTooManyTagsNamesTheResource(t *testing.T) {
	b := setup(t, server.Options{})
	machine := b.createMachine(t, "tagged", passChain)
	tags := make([]types.Tag, 51)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	_, err := b.client.TagResource(context.Background(), &sfn.TagResourceInput{ResourceArn: aws.String(machine), Tags: tags})
	var tooMany *types.TooManyTags
	if !errors.As(err, &tooMany) || aws.ToString(tooMany.ResourceName) != machine {
		t.Fatalf("TagResource with 51 tags: %v; want TooManyTags naming %s", err, machine)
	}
}

// TestTaskTokenErrors: a token that is malformed or was never issued is InvalidToken, one
// whose task ended is TaskTimedOut, for each of the three callbacks.
func TestTaskTokenErrors(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("worker")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "tokens", fmt.Sprintf(`{"StartAt":"Work","States":{
		"Work":{"Type":"Task","Resource":%q,"TimeoutSeconds":1,"End":true}}}`, *act.ActivityArn))
	done := b.start(t, machine, "done", "{}")
	task := b.pollTask(t, *act.ActivityArn)
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	b.waitDone(t, done)
	finished := *task.TaskToken
	timedOut := b.start(t, machine, "late", "{}")
	late := b.pollTask(t, *act.ActivityArn)
	if d := b.waitDone(t, timedOut); d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "States.Timeout" {
		t.Fatalf("execution whose task timed out: %s %s", d.Status, aws.ToString(d.Error))
	}
	calls := map[string]func(token string) error{
		"SendTaskSuccess": func(token string) error {
			_, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String("{}")})
			return err
		},
		"SendTaskFailure": func(token string) error {
			_, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token)})
			return err
		},
		"SendTaskHeartbeat": func(token string) error {
			_, err := b.client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
			return err
		},
	}
	tokens := []struct {
		name  string
		token string
		timed bool
	}{
		{"malformed", "made-up", false},
		{"never issued, of an execution that exists", done + "#task-99", false},
		{"never issued, of no execution", exArn + "tokens:nope#task-1", false},
		{"of a task that succeeded", finished, true},
		{"of a task that timed out", *late.TaskToken, true},
	}
	for call, send := range calls {
		for _, tt := range tokens {
			t.Run(call+" "+tt.name, func(t *testing.T) {
				err := send(tt.token)
				var timed *types.TaskTimedOut
				var invalid *types.InvalidToken
				switch {
				case tt.timed && (!errors.As(err, &timed) || timed.ErrorMessage() != "Task Timed Out: 'Provided task does not exist anymore'"):
					t.Fatalf("error %v, want TaskTimedOut with AWS's message", err)
				case !tt.timed && (!errors.As(err, &invalid) || invalid.ErrorMessage() != "Invalid Token: 'Invalid token'"):
					t.Fatalf("error %v, want InvalidToken with AWS's message", err)
				}
			})
		}
	}
}

// TestTaskTimedOutWhileTheExecutionRuns: the token of an activity task that timed out is
// refused (TaskTimedOut) while the execution retries, and no worker gets a task that timed
// out before any worker took it.
func TestTaskTimedOutWhileTheExecutionRuns(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("slow")})
	if err != nil {
		t.Fatal(err)
	}
	// Attempts run 0-2 s, 3-5 s and 6-8 s after the start.
	machine := b.createMachine(t, "retried", fmt.Sprintf(`{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":%q,
		"TimeoutSeconds":2,"Retry":[{"ErrorEquals":["States.Timeout"],"IntervalSeconds":1,"BackoffRate":1,"MaxAttempts":2}],"End":true}}}`,
		*act.ActivityArn))
	started := time.Now()
	exec := b.start(t, machine, "r", "{}")
	first := b.pollTask(t, *act.ActivityArn)
	// The first attempt times out unanswered, the second before any worker asks.
	time.Sleep(time.Until(started.Add(5500 * time.Millisecond)))
	_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: first.TaskToken, Output: aws.String("{}")})
	if !errors.As(err, new(*types.TaskTimedOut)) {
		t.Fatalf("SendTaskSuccess with the token of an attempt that timed out: %v, want TaskTimedOut", err)
	}
	third := b.pollTask(t, *act.ActivityArn)
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: third.TaskToken, Output: aws.String(`"ok"`)}); err != nil {
		t.Fatalf("SendTaskSuccess of the task a worker got after two timeouts: %v", err)
	}
	if d := b.waitDone(t, exec); d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution %s %s; the worker got a task that had timed out", d.Status, aws.ToString(d.Error))
	}
}
