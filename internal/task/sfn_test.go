package task

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

func TestClassifyStates(t *testing.T) {
	for _, tc := range []struct {
		resource string
		kind     resourceKind
		action   string
	}{
		{"arn:aws:states:::states:startExecution", kindStates, "startExecution"},
		{"arn:aws:states:::states:startExecution.sync", kindStates, "startExecution.sync"},
		{"arn:aws:states:::states:startExecution.sync:2", kindStates, "startExecution.sync:2"},
		{"arn:aws:states:::states:startExecution.waitForTaskToken", kindStates, "startExecution.waitForTaskToken"},
		{"arn:aws:states:::states:startExecution.sync:3", kindUnsupported, ""},
		{"arn:aws:states:::aws-sdk:sfn:describeExecution", kindSdkSfn, "describeExecution"},
		{"arn:aws:states:::aws-sdk:sfn:startExecution.waitForTaskToken", kindSdkSfn, "startExecution.waitForTaskToken"},
		{"arn:aws:states:::aws-sdk:sfn:", kindUnsupported, ""},
		{"arn:aws:states:::aws-sdk:s3:getObject", kindSdkS3, "getObject"},
		{"arn:aws:states:::aws-sdk:dynamodb:getItem", kindUnsupported, ""},
		{"arn:aws:states:::glue:startJobRun", kindGlue, "startJobRun"},
		{"arn:aws:states:::glue:startJobRun.sync", kindGlue, "startJobRun.sync"},
		{"arn:aws:states:::glue:startCrawler", kindUnsupported, ""},
		{"arn:aws:states:::aws-sdk:glue:getCrawler", kindSdkGlue, "getCrawler"},
	} {
		if kind, action := classify(tc.resource); kind != tc.kind || action != tc.action {
			t.Errorf("classify(%s) = %v %q, want %v %q", tc.resource, kind, action, tc.kind, tc.action)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		1688129739.518: "1.688129739518E9",
		1688129739.5:   "1.6881297395E9",
		1688129739:     "1.688129739E9",
		1e9:            "1.0E9",
	} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestStartOutput(t *testing.T) {
	x := &store.Execution{Arn: "arn:aws:states:us-east-1:111111111111:execution:statemachine_create_and_record_execution_0aa0b0ae:TestStartTarget",
		StartDate: time.UnixMilli(1688129739518)}
	out := startOutput(x)
	// AWS's body for this ARN and date is 161 bytes (the corpus's recordings of June 2023).
	for _, want := range []string{
		`{"ExecutionArn":"` + x.Arn + `","SdkHttpMetadata":{"AllHttpHeaders":{"x-amzn-RequestId":["`,
		`"connection":["keep-alive"],"Content-Length":["161"],"Date":["Fri, 30 Jun 2023 12:55:39 GMT"],"Content-Type":["application/x-amz-json-1.0"]},"HttpHeaders":{"connection":"keep-alive","Content-Length":"161","Content-Type":"application/x-amz-json-1.0","Date":"Fri, 30 Jun 2023 12:55:39 GMT","x-amzn-RequestId":"`,
		`"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"`,
		`"StartDate":1688129739518}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output %s\nlacks %s", out, want)
		}
	}
}

// fakeExecutions answers DescribeExecution's redrive questions for describe.
type fakeExecutions struct{ Executions }

func (fakeExecutions) Redrives(context.Context, string) (*store.Redrives, error) { return nil, nil }
func (fakeExecutions) Redrivable(_ context.Context, x *store.Execution, _ *store.Redrives) (bool, string, error) {
	if x.Status == store.StatusSucceeded {
		return false, "Execution is SUCCEEDED and cannot be redriven", nil
	}
	return true, "", nil
}

func TestDescribeShapes(t *testing.T) {
	r := New(Options{Executions: fakeExecutions{}})
	stop := time.UnixMilli(1688129740000)
	out, failed := `{"Arg1":"argument1"}`, "SomeFailure"
	cause := "boom"
	ok := &store.Execution{Arn: "arn:x", StateMachineArn: "arn:sm", Name: "kid", Status: store.StatusSucceeded,
		Input: `{}`, Output: &out, StartDate: time.UnixMilli(1688129739518), StopDate: &stop}
	bad := &store.Execution{Arn: "arn:x", StateMachineArn: "arn:sm", Name: "kid", Status: store.StatusFailed,
		Input: `{"a":1}`, Error: &failed, Cause: &cause, StartDate: time.UnixMilli(1688129739518), StopDate: &stop}
	for _, tc := range []struct {
		x              *store.Execution
		parsed, millis bool
		want           string
	}{
		{ok, false, true, `{"ExecutionArn":"arn:x","Input":"{}","InputDetails":{"Included":true},"Name":"kid","Output":"{\"Arg1\":\"argument1\"}","OutputDetails":{"Included":true},"RedriveCount":0,"RedriveStatus":"NOT_REDRIVABLE","RedriveStatusReason":"Execution is SUCCEEDED and cannot be redriven","StartDate":1688129739518,"StateMachineArn":"arn:sm","Status":"SUCCEEDED","StopDate":1688129740000}`},
		{ok, true, true, `{"ExecutionArn":"arn:x","Input":{},"InputDetails":{"Included":true},"Name":"kid","Output":{"Arg1":"argument1"},"OutputDetails":{"Included":true},"RedriveCount":0,"RedriveStatus":"NOT_REDRIVABLE","RedriveStatusReason":"Execution is SUCCEEDED and cannot be redriven","StartDate":1688129739518,"StateMachineArn":"arn:sm","Status":"SUCCEEDED","StopDate":1688129740000}`},
		{bad, false, true, `{"Cause":"boom","Error":"SomeFailure","ExecutionArn":"arn:x","Input":"{\"a\":1}","InputDetails":{"Included":true},"Name":"kid","RedriveCount":0,"RedriveStatus":"REDRIVABLE","StartDate":1688129739518,"StateMachineArn":"arn:sm","Status":"FAILED","StopDate":1688129740000}`},
		{bad, false, false, `{"Cause":"boom","Error":"SomeFailure","ExecutionArn":"arn:x","Input":"{\"a\":1}","InputDetails":{"Included":true},"Name":"kid","RedriveCount":0,"RedriveStatus":"REDRIVABLE","StartDate":"2023-06-30T12:55:39.518Z","StateMachineArn":"arn:sm","Status":"FAILED","StopDate":"2023-06-30T12:55:40.000Z"}`},
	} {
		d, err := r.describe(context.Background(), tc.x, tc.parsed, tc.millis)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonv.String(d); got != tc.want {
			t.Errorf("describe(parsed %v, millis %v)\n got %s\nwant %s", tc.parsed, tc.millis, got, tc.want)
		}
	}
}

func TestAPIError(t *testing.T) {
	r := New(Options{})
	se := &service.Error{Code: service.CodeStateMachineDoesNotExist, Message: "State Machine Does Not Exist: 'arn:sm'"}
	var te *engine.TaskError
	if !errors.As(r.apiError(context.Background(), se, "StepFunctions"), &te) || te.Name != "StepFunctions.StateMachineDoesNotExistException" ||
		!strings.HasPrefix(te.Cause, "State Machine Does Not Exist: 'arn:sm' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: ") ||
		!strings.HasSuffix(te.Cause, "; Proxy: null)") {
		t.Errorf("optimised integration: %+v", te)
	}
	tok := &service.Error{Code: service.CodeInvalidToken, Message: "Invalid Token: 'Invalid token'"}
	if !errors.As(r.apiError(context.Background(), tok, "Sfn"), &te) || te.Name != "Sfn.InvalidTokenException" ||
		!strings.HasPrefix(te.Cause, "Invalid Token: 'Invalid token' (Service: Sfn, Status Code: 400, Request ID: ") ||
		!strings.HasSuffix(te.Cause, ") (SDK Attempt Count: 1)") {
		t.Errorf("aws-sdk: %+v", te)
	}
	if v := (&service.Error{Code: service.CodeValidation}); !errors.As(r.apiError(context.Background(), v, "Sfn"), &te) || te.Name != "Sfn.ValidationException" {
		t.Errorf("ValidationException named %s", te.Name)
	}
}

func TestChildNames(t *testing.T) {
	a := taskUUID(&engine.Task{ExecutionArn: "arn:aws:states:us-east-1:1:execution:p:x", TaskID: "7"})
	if a != taskUUID(&engine.Task{ExecutionArn: "arn:aws:states:us-east-1:1:execution:p:x", TaskID: "7"}) ||
		a == taskUUID(&engine.Task{ExecutionArn: "arn:aws:states:us-east-1:1:execution:p:x", TaskID: "8"}) {
		t.Errorf("taskUUID is not one name per task")
	}
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("taskUUID %s is not a version 5 UUID", a)
	}
	for sm, want := range map[string]string{
		"arn:aws:states:us-east-1:1:stateMachine:child":      "arn:aws:states:us-east-1:1:execution:child:n",
		"arn:aws:states:us-east-1:1:stateMachine:child:3":    "arn:aws:states:us-east-1:1:execution:child:n",
		"arn:aws:states:us-east-1:1:stateMachine:child:prod": "arn:aws:states:us-east-1:1:execution:child:n",
	} {
		if got := arnOfName(sm, "n"); got != want {
			t.Errorf("arnOfName(%s) = %s, want %s", sm, got, want)
		}
	}
}
