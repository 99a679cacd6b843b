package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stepline/stepline/internal/server"
)

// withoutHostPrefix stops the SDK from sending TestState and StartSyncExecution to the
// "sync-" host AWS serves them on, which does not exist for a local endpoint (README.md,
// "Using AWS clients").
func withoutHostPrefix(o *sfn.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("SteplineNoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}

func TestTestStateSDK(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	task := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handle"}],"End":true}`

	_, err := b.client.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","End":true}`)})
	if err == nil {
		t.Fatal("TestState reached the server through the sync- host prefix; want a failure to resolve it")
	}

	for _, tc := range []struct {
		name   string
		in     sfn.TestStateInput
		status types.TestExecutionStatus
		output string
		next   string
	}{
		{name: "pass", in: sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","Result":{"a":1},"Next":"B"}`), InspectionLevel: types.InspectionLevelDebug},
			status: types.TestExecutionStatusSucceeded, output: `{"a":1}`, next: "B"},
		{name: "mocked task caught", in: sfn.TestStateInput{Definition: aws.String(task),
			Mock: &types.MockInput{ErrorOutput: &types.MockErrorOutput{Error: aws.String("E"), Cause: aws.String("C")}}},
			status: types.TestExecutionStatusCaughtError, output: `{"Error":"E","Cause":"C"}`, next: "Handle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := b.client.TestState(ctx, &tc.in, withoutHostPrefix)
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != tc.status || aws.ToString(out.Output) != tc.output || aws.ToString(out.NextState) != tc.next {
				t.Errorf("got %s %s next %q, want %s %s next %q", out.Status, aws.ToString(out.Output), aws.ToString(out.NextState), tc.status, tc.output, tc.next)
			}
		})
	}

	_, err = b.client.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","End":true}`),
		Mock: &types.MockInput{Result: aws.String(`{}`)}}, withoutHostPrefix)
	var ve *types.ValidationException
	if !errors.As(err, &ve) || ve.ErrorMessage() != "State type 'Pass' is not supported when a mock is specified" {
		t.Errorf("mocked Pass: err = %v, want ValidationException", err)
	}
}

func TestExpressSDK(t *testing.T) {
	b := setup(t, server.Options{})
	ctx := context.Background()
	create := func(name, def string) string {
		out, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress,
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.StateMachineArn)
	}
	ok := create("ok", `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"in.$":"$.x","name.$":"$$.Execution.Name"},"End":true}}}`)
	fails := create("fails", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"because"}}}`)
	// A loop that never waits times out (interp.ExpressBurstLimit) instead of holding the server.
	loops := create("loops", `{"StartAt":"L","States":{"L":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"A"},
		"A":{"Type":"Pass","Next":"L"},"Done":{"Type":"Succeed"}}}`)

	for _, tc := range []struct {
		name, machine, input string
		status               types.SyncExecutionStatus
		output, error, cause string
	}{
		{name: "succeeds", machine: ok, input: `{"x":1}`, status: types.SyncExecutionStatusSucceeded, output: `{"in":1,"name":"run-succeeds"}`},
		{name: "fails", machine: fails, input: `{}`, status: types.SyncExecutionStatusFailed, error: "Boom", cause: "because"},
		{name: "loops", machine: loops, input: `{}`, status: types.SyncExecutionStatusTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{
				StateMachineArn: aws.String(tc.machine), Name: aws.String("run-" + tc.name), Input: aws.String(tc.input),
			}, withoutHostPrefix)
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != tc.status || aws.ToString(out.Output) != tc.output || aws.ToString(out.Error) != tc.error || aws.ToString(out.Cause) != tc.cause {
				t.Errorf("got %s %s %s %s, want %s %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Error), aws.ToString(out.Cause),
					tc.status, tc.output, tc.error, tc.cause)
			}
			prefix := "arn:aws:states:us-east-1:123456789012:express:" + tc.machine[len(smArn):] + ":run-" + tc.name + ":"
			if arn := aws.ToString(out.ExecutionArn); len(arn) != len(prefix)+36 || arn[:len(prefix)] != prefix {
				t.Errorf("executionArn = %s, want %s<uuid>", arn, prefix)
			}
			if out.BillingDetails == nil || out.BillingDetails.BilledDurationInMilliseconds < 100 || out.BillingDetails.BilledMemoryUsedInMB != 64 {
				t.Errorf("billingDetails = %+v", out.BillingDetails)
			}
		})
	}

	_, err := b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(ok), Input: aws.String(`{`)}, withoutHostPrefix)
	var bad *types.InvalidExecutionInput
	if !errors.As(err, &bad) {
		t.Errorf("bad input: err = %v, want InvalidExecutionInput", err)
	}
	standard, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("standard"), Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`), RoleArn: aws.String(role),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: standard.StateMachineArn}, withoutHostPrefix)
	var unsupported *types.StateMachineTypeNotSupported
	if !errors.As(err, &unsupported) {
		t.Errorf("standard machine: err = %v, want StateMachineTypeNotSupported", err)
	}

	// StartExecution of an EXPRESS machine runs it in the background and stores nothing; AWS
	// refuses Express ARNs where it reads stored executions.
	started, err := b.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(ok), Name: aws.String("async")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(started.ExecutionArn), "arn:aws:states:us-east-1:123456789012:express:ok:async:") {
		t.Errorf("executionArn = %s", aws.ToString(started.ExecutionArn))
	}
	const refused = "Invalid Arn: 'Resource type not valid in this context: express'"
	for name, call := range map[string]func() error{
		"DescribeExecution": func() error {
			_, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
			return err
		},
		"GetExecutionHistory": func() error {
			_, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn})
			return err
		},
		"StopExecution": func() error {
			_, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: started.ExecutionArn})
			return err
		},
	} {
		var invalid *types.InvalidArn
		if err := call(); !errors.As(err, &invalid) || invalid.ErrorMessage() != refused {
			t.Errorf("%s of an express execution: err = %v, want InvalidArn: %s", name, err, refused)
		}
	}
}
