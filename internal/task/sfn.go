package task

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// Executions is the Step Functions API a Task state calls to run nested workflows
// (arn:aws:states:::states:startExecution…) and the aws-sdk:sfn actions. *service.Service is
// one; the conformance runner has one in memory. Refusals are *service.Error, whose Code is
// AWS's error code.
type Executions interface {
	StartExecution(ctx context.Context, in *service.StartExecutionInput) (*store.Execution, error)
	DescribeExecution(ctx context.Context, arn string) (*store.Execution, error)
	StopExecution(ctx context.Context, arn string, errName, cause *string) (time.Time, error)
	ListExecutions(ctx context.Context, in *service.ListExecutionsInput) ([]*store.Execution, string, error)
	// Redrives and Redrivable give DescribeExecution's redrive fields.
	Redrives(ctx context.Context, arn string) (*store.Redrives, error)
	Redrivable(ctx context.Context, x *store.Execution, r *store.Redrives) (bool, string, error)
	SendTaskSuccess(ctx context.Context, token, output string) error
	SendTaskFailure(ctx context.Context, token string, errName, cause *string) error
	SendTaskHeartbeat(ctx context.Context, token string) error
}

var _ Executions = (*service.Service)(nil)

// The actions of arn:aws:states:::states:ACTION.
const (
	actionStart         = "startExecution"
	actionStartSync     = "startExecution.sync"
	actionStartSync2    = "startExecution.sync:2"
	actionStartCallback = "startExecution.waitForTaskToken"
)

// Polling a .sync child starts at pollMin and doubles to pollMax: a short child is seen at
// once, a long one costs a read every few seconds.
const (
	pollMin = 20 * time.Millisecond
	pollMax = 2 * time.Second
)

// startExecution runs arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken].
func (r *Runner) startExecution(ctx context.Context, t *engine.Task, action string) (string, error) {
	x := r.executions()
	if x == nil {
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: "Step Functions is not available to this runner: cannot run " + t.Resource}
	}
	in, err := startInput(t.Parameters, "states:startExecution")
	if err != nil {
		return "", err
	}
	derived := in.Name == ""
	if derived {
		in.Name = taskUUID(t)
	}
	// The child's spans join this task's trace, under its span.
	in.TraceParent = t.TraceParent
	child, err := x.StartExecution(ctx, in)
	if derived && service.CodeOf(err) == service.CodeExecutionAlreadyExists {
		// This task ran before (its node died after starting the child): the child it
		// started is the one to report or wait for.
		child, err = x.DescribeExecution(ctx, arnOfName(in.StateMachineArn, in.Name))
	}
	if err != nil {
		return "", r.apiError(ctx, err, "StepFunctions")
	}
	if action == actionStart {
		return startOutput(child), nil
	}
	// A task that waits (for the child or for its token) records StartExecution's answer as
	// its submission (TaskSubmitted), as AWS does.
	t.Submitted(startOutput(child))
	if action == actionStartCallback {
		return "", engine.ErrCallback
	}
	ended, err := r.awaitChild(ctx, t, child.Arn)
	if err != nil {
		return "", err
	}
	desc, err := r.describe(ctx, ended, action == actionStartSync2, true)
	if err != nil {
		return "", err
	}
	if ended.Status == store.StatusSucceeded {
		return jsonv.String(desc), nil
	}
	// A child that failed, timed out or was aborted fails the task; AWS's cause is the
	// child's DescribeExecution.
	return "", &engine.TaskError{Name: "States.TaskFailed", Cause: jsonv.String(desc)}
}

// taskUUID names the child of a task that names none: a UUID, as AWS's default names are,
// but derived from the task (its execution and task id, the same when the task is dispatched
// again after a crash), so that a task run twice starts its child once.
func taskUUID(t *engine.Task) string {
	h := sha256.Sum256([]byte(t.ExecutionArn + "\x00" + t.TaskID))
	h[6] = h[6]&0x0f | 0x50 // version 5: a name-based UUID
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// arnOfName is the ARN of the execution name of a state machine (a version or alias ARN
// runs under its machine's).
func arnOfName(stateMachineArn, name string) string {
	parts := strings.SplitN(stateMachineArn, ":", 8)
	if len(parts) < 7 {
		return ""
	}
	return strings.Join(parts[:5], ":") + ":execution:" + parts[6] + ":" + name
}

// awaitChild polls the child execution until it ends, with backoff. It gives up when the task's
// TimeoutSeconds passed (the interpreter has timed the task out by then) or the parent
// execution ended, and stops the child when the parent was stopped, as AWS stops a .sync child
// with its parent.
func (r *Runner) awaitChild(ctx context.Context, t *engine.Task, arn string) (*store.Execution, error) {
	x := r.executions()
	var deadline time.Time
	if t.TimeoutSeconds > 0 {
		deadline = r.o.Clock.Now().Add(time.Duration(t.TimeoutSeconds) * time.Second)
	}
	wait := pollMin
	for {
		child, err := x.DescribeExecution(ctx, arn)
		if err != nil {
			return nil, r.apiError(ctx, err, "StepFunctions")
		}
		if child.Status.Terminal() {
			return child, nil
		}
		if parent, err := x.DescribeExecution(ctx, t.ExecutionArn); err == nil && parent.Status.Terminal() {
			// Nothing waits any more (the task may also have completed through its token).
			// A stopped parent stops its .sync child.
			if parent.Status == store.StatusAborted {
				errName, cause := "States.Aborted", "The parent execution "+t.ExecutionArn+" was stopped"
				if _, err := x.StopExecution(ctx, arn, &errName, &cause); err != nil && ctx.Err() == nil {
					r.log.Warn("stopping the child of a stopped execution", "parent", t.ExecutionArn, "child", arn, "err", err)
				}
			}
			return nil, fmt.Errorf("task: parent %s ended while %s ran: %w", t.ExecutionArn, arn, context.Canceled)
		}
		if !deadline.IsZero() && !r.o.Clock.Now().Before(deadline) {
			return nil, &engine.TaskError{Name: "States.Timeout", Cause: ""}
		}
		if err := r.o.Clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("task: waiting for %s: %w", arn, err)
		}
		wait = min(2*wait, pollMax)
	}
}

// describe is DescribeExecution's answer as the Step Functions integrations report it: PascalCase
// keys in the Java SDK's (alphabetical) order, Input and Output as text or, for .sync:2,
// parsed. Dates are epoch milliseconds for the optimised integration, ISO-8601 for aws-sdk.
func (r *Runner) describe(ctx context.Context, x *store.Execution, parsed, millis bool) (*jsonv.Object, error) {
	api := r.executions()
	rd, err := api.Redrives(ctx, x.Arn)
	if err != nil {
		return nil, r.apiError(ctx, err, "StepFunctions")
	}
	ok, reason, err := api.Redrivable(ctx, x, rd)
	if err != nil {
		return nil, r.apiError(ctx, err, "StepFunctions")
	}
	text := func(s string) jsonv.Value {
		if parsed {
			if v, err := jsonv.ParseString(s); err == nil {
				return v
			}
		}
		return s
	}
	date := func(d time.Time) jsonv.Value {
		if millis {
			return jsonv.Int(d.UnixMilli())
		}
		return d.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	included := jsonv.ObjectOf(jsonv.Member{Key: "Included", Value: true})
	o := jsonv.NewObject(16)
	if x.Cause != nil {
		o.Set("Cause", *x.Cause)
	}
	if x.Error != nil {
		o.Set("Error", *x.Error)
	}
	o.Set("ExecutionArn", x.Arn)
	o.Set("Input", text(x.Input))
	o.Set("InputDetails", included)
	o.Set("Name", x.Name)
	if x.Output != nil {
		o.Set("Output", text(*x.Output))
		o.Set("OutputDetails", included)
	}
	var count int64
	if rd != nil {
		count = rd.Count
		o.Set("RedriveCount", jsonv.Int(count))
		o.Set("RedriveDate", date(rd.Date))
	} else {
		o.Set("RedriveCount", jsonv.Int(0))
	}
	if ok {
		o.Set("RedriveStatus", "REDRIVABLE")
	} else {
		o.Set("RedriveStatus", "NOT_REDRIVABLE")
		o.Set("RedriveStatusReason", reason)
	}
	o.Set("StartDate", date(x.StartDate))
	o.Set("StateMachineArn", x.StateMachineArn)
	o.Set("Status", string(x.Status))
	if x.StopDate != nil {
		o.Set("StopDate", date(*x.StopDate))
	}
	return o, nil
}

// startOutput is states:startExecution's request-response result: StartExecution's answer
// with the HTTP metadata the Java SDK reports.
func startOutput(x *store.Execution) string {
	start := x.StartDate.UnixMilli()
	// The body AWS answered with, whose length Content-Length gives: startDate as the epoch
	// seconds Java's Double.toString writes.
	body := `{"executionArn":"` + x.Arn + `","startDate":` + javaDouble(float64(start)/1000) + `}`
	requestID := newUUID()
	date := x.StartDate.UTC().Format(httpTimeFormat)
	length := strconv.Itoa(len(body))
	all := jsonv.ObjectOf(
		jsonv.Member{Key: "x-amzn-RequestId", Value: []jsonv.Value{requestID}},
		jsonv.Member{Key: "connection", Value: []jsonv.Value{"keep-alive"}},
		jsonv.Member{Key: "Content-Length", Value: []jsonv.Value{length}},
		jsonv.Member{Key: "Date", Value: []jsonv.Value{date}},
		jsonv.Member{Key: "Content-Type", Value: []jsonv.Value{"application/x-amz-json-1.0"}},
	)
	single := jsonv.ObjectOf(
		jsonv.Member{Key: "connection", Value: "keep-alive"},
		jsonv.Member{Key: "Content-Length", Value: length},
		jsonv.Member{Key: "Content-Type", Value: "application/x-amz-json-1.0"},
		jsonv.Member{Key: "Date", Value: date},
		jsonv.Member{Key: "x-amzn-RequestId", Value: requestID},
	)
	return jsonv.String(jsonv.ObjectOf(
		jsonv.Member{Key: "ExecutionArn", Value: x.Arn},
		jsonv.Member{Key: "SdkHttpMetadata", Value: jsonv.ObjectOf(
			jsonv.Member{Key: "AllHttpHeaders", Value: all},
			jsonv.Member{Key: "HttpHeaders", Value: single},
			jsonv.Member{Key: "HttpStatusCode", Value: jsonv.Int(200)},
		)},
		jsonv.Member{Key: "SdkResponseMetadata", Value: jsonv.ObjectOf(jsonv.Member{Key: "RequestId", Value: requestID})},
		jsonv.Member{Key: "StartDate", Value: jsonv.Int(start)},
	))
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// javaDouble writes f as Java's Double.toString does for the magnitudes of epoch seconds
// (10^7 and above): scientific notation with the shortest digits, "1.688129739518E9".
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'E', -1, 64) // "1.688129739518E+09"
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// startInput reads StartExecution's Parameters: StateMachineArn, Name and Input. Input is sent
// as AWS sends it: a string as its text, null or absent as "{}", any other value as compact JSON.
func startInput(parameters, what string) (*service.StartExecutionInput, error) {
	o, err := parameterObject(parameters, what)
	if err != nil {
		return nil, err
	}
	in := &service.StartExecutionInput{}
	if err := stringField(o, "StateMachineArn", &in.StateMachineArn, true); err != nil {
		return nil, err
	}
	if err := stringField(o, "Name", &in.Name, false); err != nil {
		return nil, err
	}
	input := "{}"
	switch v, _ := o.Get("Input"); v := v.(type) {
	case nil:
	case string:
		input = v
	default:
		input = jsonv.String(v)
	}
	in.Input = &input
	return in, nil
}

func parameterObject(parameters, what string) (*jsonv.Object, error) {
	v, err := jsonv.ParseString(parameters)
	if err != nil {
		return nil, fmt.Errorf("task: %s parameters: %w", what, err)
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, &engine.TaskError{Name: "States.Runtime", Cause: "The parameters of " + what + " must be an object, not " + jsonv.TypeName(v)}
	}
	return o, nil
}

// stringField reads the string field name of o into dst.
func stringField(o *jsonv.Object, name string, dst *string, required bool) error {
	v, ok := o.Get(name)
	if !ok || v == nil {
		if required {
			return &engine.TaskError{Name: "States.Runtime", Cause: "The field " + name + " is required"}
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return &engine.TaskError{Name: "States.Runtime", Cause: fmt.Sprintf("The field %s must be a string, not %s", name, jsonv.TypeName(v))}
	}
	*dst = s
	return nil
}

// apiError turns a refused Step Functions call into the error AWS records: the exception's
// name under the integration's prefix ("StepFunctions.StateMachineDoesNotExistException" for
// the optimised integration, "Sfn.InvalidTokenException" for aws-sdk) and the SDK's wording of
// the message as the cause.
func (r *Runner) apiError(ctx context.Context, err error, prefix string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("task: calling Step Functions: %w", ctx.Err())
	}
	var se *service.Error
	if !errors.As(err, &se) {
		r.log.Warn("step functions call failed", "err", err)
		return &engine.TaskError{Name: prefix + ".InternalErrorException", Cause: err.Error()}
	}
	code := string(se.Code)
	name := code
	if !strings.HasSuffix(name, "Exception") {
		name += "Exception"
	}
	if prefix == "Sfn" {
		return &engine.TaskError{Name: "Sfn." + name,
			Cause: fmt.Sprintf("%s (Service: Sfn, Status Code: 400, Request ID: %s) (SDK Attempt Count: 1)", se.Message, newUUID())}
	}
	return &engine.TaskError{Name: prefix + "." + name,
		Cause: fmt.Sprintf("%s (Service: AWSStepFunctions; Status Code: 400; Error Code: %s; Request ID: %s; Proxy: null)", se.Message, code, newUUID())}
}
