package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

const (
	role   = "arn:aws:iam::123456789012:role/stepline"
	smArn  = "arn:aws:states:us-east-1:123456789012:stateMachine:"
	exArn  = "arn:aws:states:us-east-1:123456789012:execution:"
	actArn = "arn:aws:states:us-east-1:123456789012:activity:"
)

type bundle struct {
	srv    *server.Server
	url    string
	client *sfn.Client
}

// setup starts a server on a fresh SQLite database and returns an SDK client for it.
func setup(t testing.TB, o server.Options) *bundle {
	t.Helper()
	if o.DB == "" {
		o.DB = filepath.Join(t.TempDir(), "stepline.db")
	}
	if o.DataDir == "" {
		// Never ./stepline-data, the default beside a PostgreSQL DSN, in the package's folder.
		o.DataDir = filepath.Join(t.TempDir(), "data")
	}
	o.Addr = "127.0.0.1:0"
	if o.WaitScale == 0 {
		o.WaitScale = 1
	}
	if o.ActivityPoll == 0 {
		o.ActivityPoll = 200 * time.Millisecond
	}
	srv, err := server.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	url := "http://" + srv.Addr()
	return &bundle{srv: srv, url: url, client: newClient(url)}
}

func newClient(url string) *sfn.Client {
	return sfn.New(sfn.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

func (b *bundle) createMachine(t testing.TB, name, def string) string {
	t.Helper()
	out, err := b.client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String(role),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return *out.StateMachineArn
}

func (b *bundle) start(t testing.TB, machine, name, input string) string {
	t.Helper()
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(machine)}
	if name != "" {
		in.Name = aws.String(name)
	}
	// An input sent as "" is refused, as AWS does; "" here means none.
	if input != "" {
		in.Input = aws.String(input)
	}
	out, err := b.client.StartExecution(context.Background(), in)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return *out.ExecutionArn
}

// waitDone polls DescribeExecution until the execution ended.
func (b *bundle) waitDone(t testing.TB, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := b.client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if out.Status != types.ExecutionStatusRunning {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("execution %s did not end", arn)
	return nil
}

const passChain = `{"StartAt":"A","States":{
	"A":{"Type":"Pass","Result":"one","ResultPath":"$.a","Next":"B"},
	"B":{"Type":"Pass","Result":"two","ResultPath":"$.b","End":true}}}`

const waitThenPass = `{"StartAt":"W","States":{
	"W":{"Type":"Wait","Seconds":1,"Next":"P"},
	"P":{"Type":"Pass","Result":"%s","End":true}}}`

func TestCreateAndDescribeStateMachine(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "chain", passChain)
	if arn != smArn+"chain" {
		t.Fatalf("ARN = %s", arn)
	}
	d, err := b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Name != "chain" || *d.Definition != passChain || *d.RoleArn != role || d.Type != types.StateMachineTypeStandard ||
		d.Status != types.StateMachineStatusActive || d.CreationDate == nil || d.RevisionId != nil {
		t.Errorf("DescribeStateMachine = %+v", d)
	}
	if d.LoggingConfiguration == nil || d.LoggingConfiguration.Level != types.LogLevelOff || d.TracingConfiguration == nil || d.TracingConfiguration.Enabled {
		t.Errorf("default configurations = %+v, %+v", d.LoggingConfiguration, d.TracingConfiguration)
	}

	// The same request again is idempotent, even with another role (AWS ignores it).
	again, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("chain"), Definition: aws.String(passChain), RoleArn: aws.String(role + "2"),
	})
	if err != nil || *again.StateMachineArn != arn || !again.CreationDate.Equal(*d.CreationDate) {
		t.Fatalf("idempotent CreateStateMachine = %+v, %v", again, err)
	}
	_, err = b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("chain"), Definition: aws.String(strings.Replace(passChain, "two", "three", 1)), RoleArn: aws.String(role),
	})
	var exists *types.StateMachineAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("CreateStateMachine with another definition: %v, want StateMachineAlreadyExists", err)
	}

	_, err = b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(smArn + "nope")})
	var notExist *types.StateMachineDoesNotExist
	if !errors.As(err, &notExist) || !strings.Contains(*notExist.Message, smArn+"nope") {
		t.Fatalf("DescribeStateMachine of a missing machine: %v", err)
	}
}

func TestCreateStateMachineRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	tests := []struct {
		name, def, role string
		want            any
	}{
		{"bad name", passChain, role, new(*types.InvalidName)},
		{"semi;colon", passChain, role, new(*types.InvalidName)},
		{"ok", `{"StartAt":"X","States":{}}`, role, new(*types.InvalidDefinition)},
		{"ok", `not json`, role, new(*types.InvalidDefinition)},
		{"ok", passChain, "not-an-arn", new(*types.InvalidArn)},
		{strings.Repeat("n", 81), passChain, role, new(*types.ValidationException)},
	}
	for _, tt := range tests {
		_, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String(tt.name), Definition: aws.String(tt.def), RoleArn: aws.String(tt.role),
		})
		if !errors.As(err, tt.want) {
			t.Errorf("CreateStateMachine(%q, %.20q, %q) error = %v, want %T", tt.name, tt.def, tt.role, err, tt.want)
		}
	}
	list, err := b.client.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil || len(list.StateMachines) != 0 {
		t.Fatalf("refused machines were stored: %+v, %v", list, err)
	}
}

func TestExecutionLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "chain", passChain)
	x := b.start(t, arn, "first", `{"in":1}`)
	if x != exArn+"chain:first" {
		t.Fatalf("execution ARN = %s", x)
	}
	d := b.waitDone(t, x)
	if d.Status != types.ExecutionStatusSucceeded || *d.Output != `{"in":1,"a":"one","b":"two"}` || *d.Input != `{"in":1}` ||
		d.StopDate == nil || !d.InputDetails.Included || !d.OutputDetails.Included {
		t.Fatalf("DescribeExecution = %+v", d)
	}
	// A name used by an execution that ended cannot be reused, whatever the input.
	_, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("first"), Input: aws.String(`{"in":1}`)})
	var exists *types.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("StartExecution with a used name: %v, want ExecutionAlreadyExists", err)
	}
	// Without a name, a UUID is made up.
	gen := b.start(t, arn, "", "")
	if name := strings.TrimPrefix(gen, exArn+"chain:"); len(name) != 36 {
		t.Errorf("generated execution name %q is not a UUID", name)
	}
	if d := b.waitDone(t, gen); *d.Input != "{}" {
		t.Errorf("default input = %s", *d.Input)
	}

	_, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exArn + "chain:nope")})
	var noExec *types.ExecutionDoesNotExist
	if !errors.As(err, &noExec) {
		t.Fatalf("DescribeExecution of a missing execution: %v", err)
	}
	_, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var badArn *types.InvalidArn
	if !errors.As(err, &badArn) {
		t.Fatalf("DescribeExecution of a state machine ARN: %v", err)
	}
	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"broken"`)})
	var badInput *types.InvalidExecutionInput
	if !errors.As(err, &badInput) {
		t.Fatalf("StartExecution with broken input: %v", err)
	}
	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn + "nope")})
	var noMachine *types.StateMachineDoesNotExist
	if !errors.As(err, &noMachine) {
		t.Fatalf("StartExecution of a missing machine: %v", err)
	}
}

func TestStartExecutionIdempotentWhileRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "waiter", strings.Replace(waitThenPass, "%s", "done", 1))
	first, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("x"), Input: aws.String(`{"k":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("x"), Input: aws.String(`{"k":1}`)})
	if err != nil || *again.ExecutionArn != *first.ExecutionArn || !again.StartDate.Equal(*first.StartDate) {
		t.Fatalf("StartExecution again while running = %+v, %v; want the first execution", again, err)
	}
	_, err = b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("x"), Input: aws.String(`{"k":2}`)})
	var exists *types.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("StartExecution with another input: %v, want ExecutionAlreadyExists", err)
	}
	b.waitDone(t, *first.ExecutionArn)
}

func TestGetExecutionHistory(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	x := b.start(t, b.createMachine(t, "chain", passChain), "h", `{"in":1}`)
	b.waitDone(t, x)
	all, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(x)})
	if err != nil {
		t.Fatal(err)
	}
	var types_ []string
	for i, ev := range all.Events {
		if ev.Id != int64(i+1) {
			t.Errorf("event %d has id %d", i, ev.Id)
		}
		types_ = append(types_, string(ev.Type))
	}
	want := "ExecutionStarted PassStateEntered PassStateExited PassStateEntered PassStateExited ExecutionSucceeded"
	if got := strings.Join(types_, " "); got != want || all.NextToken != nil {
		t.Fatalf("history = %s (next %v), want %s", got, all.NextToken, want)
	}
	if *all.Events[0].ExecutionStartedEventDetails.Input != `{"in":1}` || *all.Events[5].ExecutionSucceededEventDetails.Output != `{"in":1,"a":"one","b":"two"}` {
		t.Errorf("event details: %+v / %+v", all.Events[0].ExecutionStartedEventDetails, all.Events[5].ExecutionSucceededEventDetails)
	}

	for _, reverse := range []bool{false, true} {
		var ids []int64
		var token *string
		for range 10 {
			page, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
				ExecutionArn: aws.String(x), MaxResults: 4, ReverseOrder: reverse, NextToken: token, IncludeExecutionData: aws.Bool(false),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				ids = append(ids, ev.Id)
				if d := ev.StateEnteredEventDetails; d != nil && (d.Input != nil || d.InputDetails != nil || *d.Name == "") {
					t.Errorf("includeExecutionData=false kept the input: %+v", d)
				}
				if d := ev.ExecutionSucceededEventDetails; d != nil && d.Output != nil {
					t.Errorf("includeExecutionData=false kept the output: %+v", d)
				}
			}
			if token = page.NextToken; token == nil {
				break
			}
		}
		want := []int64{1, 2, 3, 4, 5, 6}
		if reverse {
			want = []int64{6, 5, 4, 3, 2, 1}
		}
		if !equal(ids, want) {
			t.Errorf("paged history (reverse %v) ids = %v, want %v", reverse, ids, want)
		}
	}

	first, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(x), MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(x), MaxResults: 2, ReverseOrder: true, NextToken: first.NextToken})
	var badToken *types.InvalidToken
	if !errors.As(err, &badToken) {
		t.Errorf("a forward token used in reverse: %v, want InvalidToken", err)
	}
	_, err = b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exArn + "chain:nope")})
	var noExec *types.ExecutionDoesNotExist
	if !errors.As(err, &noExec) {
		t.Errorf("history of a missing execution: %v", err)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestListExecutions(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "chain", passChain)
	waiter := b.createMachine(t, "waiter", strings.Replace(waitThenPass, "%s", "done", 1))
	var started []string
	for _, name := range []string{"e1", "e2", "e3", "e4", "e5"} {
		started = append(started, b.start(t, arn, name, "{}"))
	}
	running := b.start(t, waiter, "slow", "{}")
	for _, x := range started {
		b.waitDone(t, x)
	}
	var names []string
	var token *string
	for range 10 {
		page, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), MaxResults: 2, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Executions {
			names = append(names, *x.Name)
			if x.Status != types.ExecutionStatusSucceeded || x.StopDate == nil {
				t.Errorf("listed %+v", x)
			}
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if strings.Join(names, ",") != "e5,e4,e3,e2,e1" {
		t.Errorf("listed %v, want newest first", names)
	}
	run, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(waiter), StatusFilter: types.ExecutionStatusRunning})
	if err != nil || len(run.Executions) != 1 || *run.Executions[0].ExecutionArn != running {
		t.Errorf("RUNNING executions = %+v, %v", run, err)
	}
	none, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), StatusFilter: types.ExecutionStatusFailed})
	if err != nil || len(none.Executions) != 0 {
		t.Errorf("FAILED executions = %+v, %v", none, err)
	}
	_, err = b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smArn + "nope")})
	var noMachine *types.StateMachineDoesNotExist
	if !errors.As(err, &noMachine) {
		t.Errorf("ListExecutions of a missing machine: %v", err)
	}
	_, err = b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), NextToken: aws.String("garbage")})
	var badToken *types.InvalidToken
	if !errors.As(err, &badToken) {
		t.Errorf("ListExecutions with a bad token: %v", err)
	}
	b.waitDone(t, running)
}

func TestUpdateKeepsRunningExecutionsOnTheirRevision(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "evolving", strings.Replace(waitThenPass, "%s", "old", 1))
	oldRun := b.start(t, arn, "old", "{}")
	upd, err := b.client.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
		StateMachineArn: aws.String(arn), Definition: aws.String(strings.Replace(waitThenPass, "%s", "new", 1)),
	})
	if err != nil || upd.RevisionId == nil || upd.UpdateDate == nil {
		t.Fatalf("UpdateStateMachine = %+v, %v", upd, err)
	}
	newRun := b.start(t, arn, "new", "{}")
	if out := b.waitDone(t, oldRun).Output; *out != `"old"` {
		t.Errorf("execution started before the update returned %s", *out)
	}
	if out := b.waitDone(t, newRun).Output; *out != `"new"` {
		t.Errorf("execution started after the update returned %s", *out)
	}
	forOld, err := b.client.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(oldRun)})
	if err != nil || !strings.Contains(*forOld.Definition, `"old"`) || forOld.RevisionId != nil {
		t.Errorf("DescribeStateMachineForExecution(old) = %+v, %v", forOld, err)
	}
	forNew, err := b.client.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(newRun)})
	if err != nil || !strings.Contains(*forNew.Definition, `"new"`) || *forNew.RevisionId != *upd.RevisionId {
		t.Errorf("DescribeStateMachineForExecution(new) = %+v, %v", forNew, err)
	}
	d, err := b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || *d.RevisionId != *upd.RevisionId {
		t.Errorf("DescribeStateMachine after update = %+v, %v", d, err)
	}

	_, err = b.client.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn)})
	var missing *types.MissingRequiredParameter
	if !errors.As(err, &missing) {
		t.Errorf("UpdateStateMachine with nothing to change: %v", err)
	}
	_, err = b.client.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String("{}")})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) {
		t.Errorf("UpdateStateMachine with an invalid definition: %v", err)
	}
}

func TestDeleteStateMachine(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "doomed", strings.Replace(waitThenPass, "%s", "finished", 1))
	x := b.start(t, arn, "survivor", "{}")
	if _, err := b.client.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	_, err := b.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	var noMachine *types.StateMachineDoesNotExist
	if !errors.As(err, &noMachine) {
		t.Errorf("DescribeStateMachine after delete: %v", err)
	}
	if d := b.waitDone(t, x); d.Status != types.ExecutionStatusSucceeded || *d.Output != `"finished"` {
		t.Errorf("running execution of a deleted machine ended %s %v", d.Status, d.Output)
	}
}

func TestStopExecution(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	arn := b.createMachine(t, "waiter", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`)
	x := b.start(t, arn, "stopped", "{}")
	out, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(x), Error: aws.String("Halt"), Cause: aws.String("by test")})
	if err != nil || out.StopDate == nil {
		t.Fatalf("StopExecution = %+v, %v", out, err)
	}
	d, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(x)})
	if err != nil || d.Status != types.ExecutionStatusAborted {
		t.Fatalf("after StopExecution: %+v, %v", d, err)
	}
	h, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(x), ReverseOrder: true, MaxResults: 1})
	if err != nil || h.Events[0].Type != types.HistoryEventTypeExecutionAborted ||
		*h.Events[0].ExecutionAbortedEventDetails.Error != "Halt" || *h.Events[0].ExecutionAbortedEventDetails.Cause != "by test" {
		t.Fatalf("last event after StopExecution: %+v, %v", h, err)
	}
	// As AWS records it (LocalStack's test_sfn_api snapshot, test_stop_execution): the abort has
	// previousEventId 0, not the id of the WaitStateEntered before it.
	if ev := h.Events[0]; ev.Id != 3 || ev.PreviousEventId != 0 {
		t.Errorf("ExecutionAborted id %d, previousEventId %d; want 3, 0", ev.Id, ev.PreviousEventId)
	}
	if _, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(x)}); err != nil {
		t.Errorf("stopping a stopped execution: %v", err)
	}
	_, err = b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(exArn + "waiter:nope")})
	var noExec *types.ExecutionDoesNotExist
	if !errors.As(err, &noExec) {
		t.Errorf("stopping a missing execution: %v", err)
	}
}

func TestActivities(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("work"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if err != nil || *act.ActivityArn != actArn+"work" {
		t.Fatalf("CreateActivity = %+v, %v", act, err)
	}
	again, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("work")})
	if err != nil || *again.ActivityArn != *act.ActivityArn {
		t.Fatalf("CreateActivity again = %+v, %v", again, err)
	}
	desc, err := b.client.DescribeActivity(ctx, &sfn.DescribeActivityInput{ActivityArn: act.ActivityArn})
	if err != nil || *desc.Name != "work" || !desc.CreationDate.Equal(*act.CreationDate) {
		t.Fatalf("DescribeActivity = %+v, %v", desc, err)
	}
	tags, err := b.client.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: act.ActivityArn})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" || *tags.Tags[0].Value != "core" {
		t.Fatalf("ListTagsForResource = %+v, %v", tags, err)
	}

	// No task yet: the poll ends empty-handed.
	none, err := b.client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn})
	if err != nil || none.TaskToken != nil {
		t.Fatalf("GetActivityTask with nothing queued = %+v, %v", none, err)
	}

	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + *act.ActivityArn + `","End":true}}}`
	arn := b.createMachine(t, "worker", def)
	ok := b.start(t, arn, "ok", `{"job":1}`)
	task := b.pollTask(t, *act.ActivityArn)
	if *task.Input != `{"job":1}` {
		t.Errorf("task input = %s", *task.Input)
	}
	if _, err := b.client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: task.TaskToken}); err != nil {
		t.Errorf("SendTaskHeartbeat: %v", err)
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String("not json")}); !errors.As(err, new(*types.InvalidOutput)) {
		t.Errorf("SendTaskSuccess with broken output: %v", err)
	}
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`{"done":true}`)}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, ok); d.Status != types.ExecutionStatusSucceeded || *d.Output != `{"done":true}` {
		t.Errorf("activity execution ended %s %v", d.Status, d.Output)
	}
	_, err = b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String("{}")})
	if !errors.As(err, new(*types.TaskTimedOut)) {
		t.Errorf("SendTaskSuccess on a closed task: %v, want TaskTimedOut", err)
	}
	_, err = b.client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("made-up")})
	if !errors.As(err, new(*types.InvalidToken)) {
		t.Errorf("SendTaskHeartbeat with a made-up token: %v, want InvalidToken", err)
	}

	bad := b.start(t, arn, "bad", `{"job":2}`)
	task = b.pollTask(t, *act.ActivityArn)
	if _, err := b.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: task.TaskToken, Error: aws.String("Boom"), Cause: aws.String("it broke")}); err != nil {
		t.Fatal(err)
	}
	if d := b.waitDone(t, bad); d.Status != types.ExecutionStatusFailed || *d.Error != "Boom" || *d.Cause != "it broke" {
		t.Errorf("failed activity execution = %+v", d)
	}

	list, err := b.client.ListActivities(ctx, &sfn.ListActivitiesInput{})
	if err != nil || len(list.Activities) != 1 {
		t.Fatalf("ListActivities = %+v, %v", list, err)
	}
	if _, err := b.client.DeleteActivity(ctx, &sfn.DeleteActivityInput{ActivityArn: act.ActivityArn}); err != nil {
		t.Fatal(err)
	}
	_, err = b.client.DescribeActivity(ctx, &sfn.DescribeActivityInput{ActivityArn: act.ActivityArn})
	if !errors.As(err, new(*types.ActivityDoesNotExist)) {
		t.Errorf("DescribeActivity after delete: %v", err)
	}
	_, err = b.client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn})
	if !errors.As(err, new(*types.ActivityDoesNotExist)) {
		t.Errorf("GetActivityTask after delete: %v", err)
	}
}

func (b *bundle) pollTask(t testing.TB, activity string) *sfn.GetActivityTaskOutput {
	t.Helper()
	for range 50 {
		out, err := b.client.GetActivityTask(context.Background(), &sfn.GetActivityTaskInput{ActivityArn: aws.String(activity), WorkerName: aws.String("tester")})
		if err != nil {
			t.Fatal(err)
		}
		if out.TaskToken != nil {
			return out
		}
	}
	t.Fatal("no activity task arrived")
	return nil
}

func TestValidateStateMachineDefinition(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	ok, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(passChain)})
	if err != nil || ok.Result != types.ValidateStateMachineDefinitionResultCodeOk || len(ok.Diagnostics) != 0 {
		t.Fatalf("valid definition: %+v, %v", ok, err)
	}
	bad, err := b.client.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{
		Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`),
	})
	if err != nil || bad.Result != types.ValidateStateMachineDefinitionResultCodeFail || len(bad.Diagnostics) == 0 {
		t.Fatalf("invalid definition: %+v, %v", bad, err)
	}
	d := bad.Diagnostics[0]
	if d.Severity != types.ValidateStateMachineDefinitionSeverityError || *d.Code != "MISSING_TRANSITION_TARGET" || d.Location == nil || *d.Message == "" {
		t.Errorf("diagnostic = code %s, message %v, location %v, severity %s", *d.Code, d.Message, d.Location, d.Severity)
	}
}

func TestListStateMachinesPages(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	for _, n := range []string{"c", "a", "b"} {
		b.createMachine(t, n, passChain)
	}
	p := sfn.NewListStateMachinesPaginator(b.client, &sfn.ListStateMachinesInput{MaxResults: 2})
	var names []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sm := range page.StateMachines {
			names = append(names, *sm.Name)
		}
	}
	if strings.Join(names, "") != "abc" {
		t.Errorf("listed %v", names)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{WaitScale: 0.01})
	b.waitDone(t, b.start(t, b.createMachine(t, "chain", passChain), "m", "{}"))
	// A Wait's timer is stepped by a lease the engine takes.
	b.waitDone(t, b.start(t, b.createMachine(t, "wait", fmt.Sprintf(waitThenPass, "x")), "w", "{}"))
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/metrics": `stepline_executions_finished_total{status="SUCCEEDED"} 2`,
	} {
		resp, err := http.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %q, want %q", path, resp.StatusCode, body, want)
		}
		// The engine's own series sit beside the AWS ones: the execution was leased to be
		// stepped, and no other node contended for it.
		if path == "/metrics" && (!regexp.MustCompile(`(?m)^stepline_engine_leases_taken_total [1-9]`).Match(body) ||
			!strings.Contains(string(body), "stepline_engine_leases_contended_total 0\n")) {
			t.Errorf("GET /metrics has no lease counts: %s", body)
		}
	}
}

func TestStopIsIdempotentAndEndsLongPolls(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{ActivityPoll: time.Minute})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("idle")})
	if err != nil {
		t.Fatal(err)
	}
	polled := make(chan error, 1)
	go func() {
		out, err := b.client.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn})
		if err == nil && out.TaskToken != nil {
			err = errors.New("got a task from an idle activity")
		}
		polled <- err
	}()
	// Give the poll time to reach the server; the stop must not wait a minute for it.
	time.Sleep(100 * time.Millisecond)
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.srv.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if err := b.srv.Stop(stopCtx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := <-polled; err != nil {
		t.Errorf("long poll during stop: %v", err)
	}
}
