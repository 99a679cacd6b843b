package task

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/lambda"
)

// fakeLambda answers every Invoke with res or err and remembers the calls.
type fakeLambda struct {
	res   *lambda.InvokeResult
	err   error
	calls []*lambda.InvokeParams
}

func (f *fakeLambda) Invoke(_ context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error) {
	f.calls = append(f.calls, p)
	return f.res, f.err
}

const (
	functionArn = "arn:aws:lambda:us-east-1:111111111111:function:lambda_func"
	invokeArn   = "arn:aws:states:::lambda:invoke"
	// pyError is raise_exception.py's error document as the Python runtime writes it.
	pyError = `{"errorMessage": "Some exception was raised.", "errorType": "Exception", "requestId": "5f1e1c2e-0000-4000-8000-000000000001", "stackTrace": ["  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"Some exception was raised.\")\n"]}`
)

func ok(payload string) *lambda.InvokeResult {
	return &lambda.InvokeResult{StatusCode: 200, Payload: []byte(payload), ExecutedVersion: "$LATEST"}
}

func TestRun(t *testing.T) {
	big := `"` + strings.Repeat("a", 257*1024) + `"`
	tests := []struct {
		name        string
		resource    string
		params      string
		res         *lambda.InvokeResult
		err         error
		wantOut     string // exact output, or "" when wantErr is set
		wantErr     string // error name
		wantCause   string // regular expression the cause matches in full
		wantFn      string // FunctionName sent
		wantPayload string
	}{
		{
			// services/lambda_task__invoke_json_values__0.0: the input and the result keep their text.
			name: "function ARN success", resource: functionArn, params: `0.0`, res: ok(`0.0`),
			wantOut: `0.0`, wantFn: functionArn, wantPayload: `0.0`,
		},
		{
			// services/lambda_task__invoke_bytes_payload: the function's bytes are the output.
			name: "function ARN string result", resource: functionArn, params: `{}`, res: ok(`"HelloWorld!"`),
			wantOut: `"HelloWorld!"`, wantFn: functionArn, wantPayload: `{}`,
		},
		{
			// error_handling/task_lambda__raise_exception: the error document, as Lambda sent it.
			name: "function ARN function error", resource: functionArn, params: `{"FunctionName":"x","Payload":null}`,
			res:     &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(pyError)},
			wantErr: "Exception", wantCause: regexp.QuoteMeta(pyError), wantFn: functionArn, wantPayload: `{"FunctionName":"x","Payload":null}`,
		},
		{
			// error_handling/task_service_lambda__raise_exception: compact, keys in Lambda's order.
			name: "invoke function error", resource: invokeArn, params: `{"FunctionName":"f","Payload":null}`,
			res:       &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(pyError)},
			wantErr:   "Exception",
			wantCause: regexp.QuoteMeta(`{"errorMessage":"Some exception was raised.","errorType":"Exception","requestId":"5f1e1c2e-0000-4000-8000-000000000001","stackTrace":["  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"Some exception was raised.\")\n"]}`),
			wantFn:    "f", wantPayload: `{}`,
		},
		{
			// error_handling/task_service_lambda__raise_custom_exception: the class name is the error.
			name: "invoke custom exception", resource: invokeArn, params: `{"FunctionName":"f"}`,
			res:       &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(`{"errorMessage": "", "errorType": "CustomException", "stackTrace": []}`)},
			wantErr:   "CustomException",
			wantCause: regexp.QuoteMeta(`{"errorMessage":"","errorType":"CustomException","stackTrace":[]}`), wantFn: "f", wantPayload: `{}`,
		},
		{
			name: "function error without a type", resource: functionArn, params: `{}`,
			res:       &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"Task timed out after 3.00 seconds"}`)},
			wantErr:   "Lambda.Unknown",
			wantCause: regexp.QuoteMeta(unknownCause + `{"errorMessage":"Task timed out after 3.00 seconds"}`), wantFn: functionArn, wantPayload: `{}`,
		},
		{
			// error_handling/task_service_lambda__no_such_function.
			name: "invoke no such function", resource: invokeArn, params: `{"FunctionName":"nope","Payload":null}`,
			err: &lambda.Error{Code: "ResourceNotFoundException", Status: 404,
				Message: "Function not found: arn:aws:lambda:us-east-1:111111111111:function:nope:$LATEST"},
			wantErr: "Lambda.ResourceNotFoundException",
			wantCause: regexp.QuoteMeta("Function not found: arn:aws:lambda:us-east-1:111111111111:function:nope:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ") +
				`[0-9a-f-]{36}` + regexp.QuoteMeta("; Proxy: null)"),
			wantFn: "nope", wantPayload: `{}`,
		},
		{
			name: "throttled", resource: functionArn, params: `{}`,
			err:       &lambda.Error{Code: "TooManyRequestsException", Status: 429, Message: "Rate Exceeded."},
			wantErr:   "Lambda.TooManyRequestsException",
			wantCause: regexp.QuoteMeta("Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: ") + `.*`,
			wantFn:    functionArn, wantPayload: `{}`,
		},
		{
			name: "lambda failed inside", resource: functionArn, params: `{}`, err: errors.New("sandbox: process pool closed"),
			wantErr: "Lambda.ServiceException", wantCause: "sandbox: process pool closed", wantFn: functionArn, wantPayload: `{}`,
		},
		{
			// error_handling/states_errors__task_lambda_data_limit_exceeded_on_large_utf8_response.
			name: "function ARN result too large", resource: functionArn, params: `{}`, res: ok(big),
			wantErr:   "States.DataLimitExceeded",
			wantCause: regexp.QuoteMeta("The state/task '" + functionArn + "' returned a result with a size exceeding the maximum number of bytes service limit."),
			wantFn:    functionArn, wantPayload: `{}`,
		},
		{
			// error_handling/states_errors__service_task_lambada_data_limit_exceeded_on_large_utf8_response.
			name: "invoke result too large", resource: invokeArn, params: `{"FunctionName":"f"}`, res: ok(big),
			wantErr:   "States.DataLimitExceeded",
			wantCause: regexp.QuoteMeta("The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."),
			wantFn:    "f", wantPayload: `{}`,
		},
		{
			name: "invoke without a function name", resource: invokeArn, params: `{"Payload":{}}`,
			wantErr: "States.Runtime", wantCause: ".*FunctionName.*",
		},
		{
			name: "unsupported resource", resource: "arn:aws:states:::glue:startJobRun.sync", params: `{}`,
			wantErr: "States.TaskFailed", wantCause: ".*arn:aws:states:::glue:startJobRun.sync.*",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLambda{res: tt.res, err: tt.err}
			r := New(Options{Lambda: fake})
			out, err := r.Run(context.Background(), &engine.Task{Resource: tt.resource, Parameters: tt.params, StateName: "S"})
			if tt.wantErr == "" {
				if err != nil || out != tt.wantOut {
					t.Fatalf("got (%.200q, %v), want (%.200q, nil)", out, err, tt.wantOut)
				}
			} else {
				var te *engine.TaskError
				if !errors.As(err, &te) {
					t.Fatalf("got (%.200q, %v), want a TaskError %s", out, err, tt.wantErr)
				}
				if te.Name != tt.wantErr || !regexp.MustCompile(`(?s)\A`+tt.wantCause+`\z`).MatchString(te.Cause) {
					t.Fatalf("got %s: %q\nwant %s: /%s/", te.Name, te.Cause, tt.wantErr, tt.wantCause)
				}
			}
			if tt.wantFn == "" {
				if len(fake.calls) != 0 {
					t.Fatalf("invoked %d times, want none", len(fake.calls))
				}
				return
			}
			if len(fake.calls) != 1 {
				t.Fatalf("invoked %d times, want once", len(fake.calls))
			}
			if c := fake.calls[0]; c.FunctionName != tt.wantFn || string(c.Payload) != tt.wantPayload {
				t.Fatalf("invoked %q with %q, want %q with %q", c.FunctionName, c.Payload, tt.wantFn, tt.wantPayload)
			}
		})
	}
}

// TestInvokeOutput checks lambda:invoke's result against services/lambda_task_service__invoke
// and lambda_task_service__invoke_unsupported_param (LogType Tail), the request id, date and
// trace id aside.
func TestInvokeOutput(t *testing.T) {
	date := time.Date(2026, 12, 6, 4, 52, 32, 0, time.UTC)
	tests := []struct {
		name   string
		params string
		res    *lambda.InvokeResult
		want   string
		sent   string
	}{
		{
			name: "null payload", params: `{"FunctionName":"f","Payload":null}`, res: ok(`{}`), sent: `{}`,
			want: `{"ExecutedVersion":"$LATEST","Payload":{},"SdkHttpMetadata":{"AllHttpHeaders":{"X-Amz-Executed-Version":["$LATEST"],"x-amzn-Remapped-Content-Length":["0"],"Connection":["keep-alive"],"x-amzn-RequestId":["ID"],"Content-Length":["2"],"Date":["Sun, 06 Dec 2026 04:52:32 GMT"],"X-Amzn-Trace-Id":["TRACE"],"Content-Type":["application/json"]},"HttpHeaders":{"Connection":"keep-alive","Content-Length":"2","Content-Type":"application/json","Date":"Sun, 06 Dec 2026 04:52:32 GMT","X-Amz-Executed-Version":"$LATEST","x-amzn-Remapped-Content-Length":"0","x-amzn-RequestId":"ID","X-Amzn-Trace-Id":"TRACE"},"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"ID"},"StatusCode":200}`,
		},
		{
			// lambda_task_service__invoke_json_values__0.0: a string payload is sent as its text.
			name: "string payload", params: `{"FunctionName":"f","Payload":"0.0"}`, res: ok(`0.0`), sent: `0.0`,
			want: `{"ExecutedVersion":"$LATEST","Payload":0.0,"SdkHttpMetadata":{"AllHttpHeaders":{"X-Amz-Executed-Version":["$LATEST"],"x-amzn-Remapped-Content-Length":["0"],"Connection":["keep-alive"],"x-amzn-RequestId":["ID"],"Content-Length":["3"],"Date":["Sun, 06 Dec 2026 04:52:32 GMT"],"X-Amzn-Trace-Id":["TRACE"],"Content-Type":["application/json"]},"HttpHeaders":{"Connection":"keep-alive","Content-Length":"3","Content-Type":"application/json","Date":"Sun, 06 Dec 2026 04:52:32 GMT","X-Amz-Executed-Version":"$LATEST","x-amzn-Remapped-Content-Length":"0","x-amzn-RequestId":"ID","X-Amzn-Trace-Id":"TRACE"},"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"ID"},"StatusCode":200}`,
		},
		{
			// The invocation's own request id is the response's.
			name: "request id", params: `{"FunctionName":"f"}`, sent: `{}`,
			res:  &lambda.InvokeResult{StatusCode: 200, Payload: []byte(`1`), RequestID: "0b6a8a8e-7d0c-4c43-9e0e-3f1c2a7b9d11"},
			want: `{"ExecutedVersion":"$LATEST","Payload":1,"SdkHttpMetadata":{"AllHttpHeaders":{"X-Amz-Executed-Version":["$LATEST"],"x-amzn-Remapped-Content-Length":["0"],"Connection":["keep-alive"],"x-amzn-RequestId":["0b6a8a8e-7d0c-4c43-9e0e-3f1c2a7b9d11"],"Content-Length":["1"],"Date":["Sun, 06 Dec 2026 04:52:32 GMT"],"X-Amzn-Trace-Id":["TRACE"],"Content-Type":["application/json"]},"HttpHeaders":{"Connection":"keep-alive","Content-Length":"1","Content-Type":"application/json","Date":"Sun, 06 Dec 2026 04:52:32 GMT","X-Amz-Executed-Version":"$LATEST","x-amzn-Remapped-Content-Length":"0","x-amzn-RequestId":"0b6a8a8e-7d0c-4c43-9e0e-3f1c2a7b9d11","X-Amzn-Trace-Id":"TRACE"},"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"0b6a8a8e-7d0c-4c43-9e0e-3f1c2a7b9d11"},"StatusCode":200}`,
		},
		{
			name: "log tail", params: `{"FunctionName":"f","Payload":{"a":[1, 2]},"LogType":"Tail"}`, sent: `{"a":[1,2]}`,
			res:  &lambda.InvokeResult{StatusCode: 200, Payload: []byte(`{}`), ExecutedVersion: "$LATEST", LogResult: "U1RBUlQ="},
			want: `{"ExecutedVersion":"$LATEST","LogResult":"U1RBUlQ=","Payload":{},"SdkHttpMetadata":{"AllHttpHeaders":{"X-Amz-Log-Result":["U1RBUlQ="],"X-Amz-Executed-Version":["$LATEST"],"x-amzn-Remapped-Content-Length":["0"],"Connection":["keep-alive"],"x-amzn-RequestId":["ID"],"Content-Length":["2"],"Date":["Sun, 06 Dec 2026 04:52:32 GMT"],"X-Amzn-Trace-Id":["TRACE"],"Content-Type":["application/json"]},"HttpHeaders":{"Connection":"keep-alive","Content-Length":"2","Content-Type":"application/json","Date":"Sun, 06 Dec 2026 04:52:32 GMT","X-Amz-Executed-Version":"$LATEST","X-Amz-Log-Result":"U1RBUlQ=","x-amzn-Remapped-Content-Length":"0","x-amzn-RequestId":"ID","X-Amzn-Trace-Id":"TRACE"},"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"ID"},"StatusCode":200}`,
		},
	}
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	trace := regexp.MustCompile(`Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=0`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLambda{res: tt.res}
			r := New(Options{Lambda: fake, Clock: &clock.Fake{T: date}})
			out, err := r.Run(context.Background(), &engine.Task{Resource: invokeArn, Parameters: tt.params})
			if err != nil {
				t.Fatal(err)
			}
			got := trace.ReplaceAllString(out, "TRACE")
			if tt.res.RequestID == "" {
				ids := uuid.FindAllString(got, -1)
				if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
					t.Fatalf("request ids %q in %s: want one, three times", ids, out)
				}
				got = uuid.ReplaceAllString(got, "ID")
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if string(fake.calls[0].Payload) != tt.sent {
				t.Fatalf("sent %q, want %q", fake.calls[0].Payload, tt.sent)
			}
		})
	}
}

// TestWaitForTaskToken: the function is invoked (with the token in its payload, put there by
// the definition), then the task waits for SendTask*; an invocation that failed fails it.
func TestWaitForTaskToken(t *testing.T) {
	fake := &fakeLambda{res: ok(`null`)}
	r := New(Options{Lambda: fake})
	task := &engine.Task{Resource: invokeArn + ".waitForTaskToken", Parameters: `{"FunctionName":"f","Payload":{"token":"T"}}`, Token: "T"}
	if _, err := r.Run(context.Background(), task); !errors.Is(err, engine.ErrCallback) {
		t.Fatalf("got %v, want ErrCallback", err)
	}
	if len(fake.calls) != 1 || string(fake.calls[0].Payload) != `{"token":"T"}` {
		t.Fatalf("calls %+v", fake.calls)
	}
	fake.err = &lambda.Error{Code: "ResourceNotFoundException", Status: 404, Message: "Function not found: f"}
	var te *engine.TaskError
	if _, err := r.Run(context.Background(), task); !errors.As(err, &te) || te.Name != "Lambda.ResourceNotFoundException" {
		t.Fatalf("got %v, want Lambda.ResourceNotFoundException", err)
	}
}

// TestCancelled: an invocation abandoned because the engine stops is no task failure.
func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := New(Options{Lambda: &fakeLambda{err: context.Canceled}})
	_, err := r.Run(ctx, &engine.Task{Resource: functionArn, Parameters: `{}`})
	var te *engine.TaskError
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Fatalf("got %v, want context.Canceled and no TaskError", err)
	}
}

func FuzzInvokeParams(f *testing.F) {
	f.Add(`{"FunctionName":"f","Payload":"0.0"}`)
	f.Add(`{"FunctionName":"f","Payload":null,"LogType":"Tail","Qualifier":"1"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, params string) {
		p, err := invokeParams(params)
		if err == nil && (p.FunctionName == "" || p.Payload == nil) {
			t.Fatalf("accepted %q without a function name or payload: %+v", params, p)
		}
	})
}
