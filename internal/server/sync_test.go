package server_test

import (
	"context"
	"errors"
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
