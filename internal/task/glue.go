package task

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/glue"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/store"
)

// Glue is the Glue API (JSON 1.1, AWSGlue.ACTION) a Task state calls: *glue.Service is one.
// Refusals are *glue.Error.
type Glue interface {
	Call(ctx context.Context, action string, input []byte) ([]byte, error)
}

var _ Glue = (*glue.Service)(nil)

// The actions of arn:aws:states:::glue:ACTION.
const (
	actionGlueStart     = "startJobRun"
	actionGlueStartSync = "startJobRun.sync"
)

// glueDates are the members of Glue's answers that are timestamps (epoch seconds on the wire).
var glueDates = map[string]bool{
	"StartedOn": true, "CompletedOn": true, "LastModifiedOn": true, "CreatedOn": true,
	"CreateTime": true, "UpdateTime": true, "LastAccessTime": true, "LastAnalyzedTime": true,
	"CreationTime": true, "LastUpdated": true, "StartTime": true, "EndTime": true,
}

// glueJob runs arn:aws:states:::glue:startJobRun[.sync], Glue's optimised integration: the
// request-response form answers StartJobRun's JobRunId with the JobName it was given; .sync
// waits for the run to end and answers its JobRun (dates in epoch milliseconds, as the
// optimised integrations render them), a run that FAILED, timed out or ERRORed failing the
// task with States.TaskFailed and the JobRun as the cause. Refusals are Glue.<Code> with
// Glue's message as the cause.
func (r *Runner) glueJob(ctx context.Context, t *engine.Task, action string) (string, error) {
	if r.o.Glue == nil {
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: "Glue is not available to this runner: cannot run " + t.Resource}
	}
	o, err := parameterObject(t.Parameters, "glue:"+action)
	if err != nil {
		return "", err
	}
	var name string
	if err := stringField(o, "JobName", &name, true); err != nil {
		return "", err
	}
	started, err := r.startJobRun(ctx, t, o, false)
	if err != nil {
		return "", err
	}
	id, _ := get(started, "JobRunId").(string)
	if action == actionGlueStart {
		return jsonv.String(jsonv.ObjectOf(
			jsonv.Member{Key: "JobName", Value: name},
			jsonv.Member{Key: "JobRunId", Value: id},
		)), nil
	}
	t.Submitted(jsonv.String(jsonv.ObjectOf(
		jsonv.Member{Key: "JobName", Value: name},
		jsonv.Member{Key: "JobRunId", Value: id},
	)))
	run, err := r.awaitJobRun(ctx, t, name, id)
	if err != nil {
		return "", err
	}
	renderDates(run, true)
	// A stopped run ends the task as a success, as a succeeded one does: only an abnormal
	// end fails it (LocalStack's recordings against AWS show the same).
	switch state, _ := get(run, "JobRunState").(string); state {
	case "FAILED", "TIMEOUT", "ERROR":
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: jsonv.String(run)}
	}
	return jsonv.String(run), nil
}

// awaitJobRun polls GetJobRun until the run ends, with backoff as awaitChild does. It gives up
// when the task's TimeoutSeconds passed or the execution ended, stopping the run when the
// execution was stopped.
func (r *Runner) awaitJobRun(ctx context.Context, t *engine.Task, name, id string) (*jsonv.Object, error) {
	var deadline time.Time
	if t.TimeoutSeconds > 0 {
		deadline = r.o.Clock.Now().Add(time.Duration(t.TimeoutSeconds) * time.Second)
	}
	query := jsonv.ObjectOf(jsonv.Member{Key: "JobName", Value: name}, jsonv.Member{Key: "RunId", Value: id})
	wait := pollMin
	for {
		res, err := r.glueCall(ctx, "GetJobRun", query, false)
		if err != nil {
			return nil, err
		}
		run, _ := get(res, "JobRun").(*jsonv.Object)
		switch state, _ := get(run, "JobRunState").(string); state {
		case "SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED":
			return run, nil
		}
		if x := r.executions(); x != nil {
			if parent, err := x.DescribeExecution(ctx, t.ExecutionArn); err == nil && parent.Status.Terminal() {
				if parent.Status == store.StatusAborted {
					stop := jsonv.ObjectOf(jsonv.Member{Key: "JobName", Value: name}, jsonv.Member{Key: "JobRunIds", Value: []jsonv.Value{id}})
					if _, err := r.glueCall(ctx, "BatchStopJobRun", stop, false); err != nil && ctx.Err() == nil {
						r.log.Warn("stopping the job run of a stopped execution", "execution", t.ExecutionArn, "job", name, "run", id, "err", err)
					}
				}
				return nil, fmt.Errorf("task: execution %s ended while job run %s ran: %w", t.ExecutionArn, id, context.Canceled)
			}
		}
		if !deadline.IsZero() && !r.o.Clock.Now().Before(deadline) {
			return nil, &engine.TaskError{Name: "States.Timeout", Cause: ""}
		}
		if err := r.o.Clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("task: waiting for job run %s: %w", id, err)
		}
		wait = min(2*wait, pollMax)
	}
}

// sdkGlue runs arn:aws:states:::aws-sdk:glue:ACTION: the Glue API called in-process, the
// Parameters as the action's request, its answer as the result with dates in ISO 8601 as the
// SDK integrations render them, refusals as Glue.<Code>.
func (r *Runner) sdkGlue(ctx context.Context, t *engine.Task, action string) (string, error) {
	if r.o.Glue == nil {
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: "Glue is not available to this runner: cannot run " + t.Resource}
	}
	o, err := parameterObject(t.Parameters, "aws-sdk:glue:"+action)
	if err != nil {
		return "", err
	}
	var res *jsonv.Object
	if action == "startJobRun" {
		res, err = r.startJobRun(ctx, t, o, true)
	} else {
		res, err = r.glueCall(ctx, strings.ToUpper(action[:1])+action[1:], o, true)
	}
	if err != nil {
		return "", err
	}
	renderDates(res, false)
	return jsonv.String(res), nil
}

// glueCall calls action with in and turns a refusal into the task error AWS records:
// Glue.<Code>, the message as the cause, with the Java SDK's suffix for aws-sdk (sdk).
func (r *Runner) glueCall(ctx context.Context, action string, in *jsonv.Object, sdk bool) (*jsonv.Object, error) {
	out, err := r.o.Glue.Call(ctx, action, []byte(jsonv.String(in)))
	return r.glueAnswer(ctx, action, out, err, sdk)
}

// startJobRun calls StartJobRun for a task. A task dispatched again (its node died while it
// ran) finds the run it started instead of starting a second one, when the Glue service can
// key runs: by the execution and the task's id, the same across dispatches (a retry is a new
// task).
func (r *Runner) startJobRun(ctx context.Context, t *engine.Task, in *jsonv.Object, sdk bool) (*jsonv.Object, error) {
	once, ok := r.o.Glue.(glueOnce)
	if !ok {
		return r.glueCall(ctx, "StartJobRun", in, sdk)
	}
	out, err := once.StartJobRunOnce(ctx, t.ExecutionArn+"#"+t.TaskID, []byte(jsonv.String(in)))
	return r.glueAnswer(ctx, "StartJobRun", out, err, sdk)
}

// glueOnce is the Glue service's StartJobRun that starts one run per token (*glue.Service).
type glueOnce interface {
	StartJobRunOnce(ctx context.Context, token string, input []byte) ([]byte, error)
}

// glueAnswer is a Glue call's answer as an object, or its error as the task's.
func (r *Runner) glueAnswer(ctx context.Context, action string, out []byte, err error, sdk bool) (*jsonv.Object, error) {
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("task: calling Glue: %w", ctx.Err())
		}
		var ge *glue.Error
		if !errors.As(err, &ge) {
			r.log.Warn("glue call failed", "action", action, "err", err)
			return nil, &engine.TaskError{Name: "Glue.InternalServiceException", Cause: err.Error()}
		}
		cause := ge.Message
		if sdk {
			cause += " (Service: Glue, Status Code: " + strconv.Itoa(ge.Status) + ", Request ID: " + newUUID() + ")"
		}
		return nil, &engine.TaskError{Name: "Glue." + ge.Code, Cause: cause}
	}
	v, err := jsonv.Parse(out)
	if err != nil {
		return nil, fmt.Errorf("task: Glue's %s answer: %w", action, err)
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, fmt.Errorf("task: Glue's %s answer is %s, not an object", action, jsonv.TypeName(v))
	}
	return o, nil
}

// renderDates rewrites Glue's timestamps (epoch seconds) in v: epoch milliseconds for the
// optimised integration (millis), ISO 8601 for aws-sdk.
func renderDates(v jsonv.Value, millis bool) {
	switch v := v.(type) {
	case *jsonv.Object:
		for _, m := range v.Members() {
			if n, ok := m.Value.(jsonv.Number); ok && glueDates[m.Key] {
				ms := int64(n.Float64()*1000 + 0.5)
				if millis {
					v.Set(m.Key, jsonv.Int(ms))
				} else {
					v.Set(m.Key, time.UnixMilli(ms).UTC().Format(sdkDateLayout))
				}
				continue
			}
			renderDates(m.Value, millis)
		}
	case []jsonv.Value:
		for _, e := range v {
			renderDates(e, millis)
		}
	}
}

// get is o's member key, nil for a nil o or a missing member.
func get(o *jsonv.Object, key string) jsonv.Value {
	if o == nil {
		return nil
	}
	v, _ := o.Get(key)
	return v
}
