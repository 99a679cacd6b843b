package task

import (
	"context"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// sdkSfn runs arn:aws:states:::aws-sdk:sfn:ACTION: the Step Functions API called as the AWS SDK
// integration calls it, Parameters and results with the API's members in PascalCase, refusals
// as Sfn.<Code>Exception.
func (r *Runner) sdkSfn(ctx context.Context, t *engine.Task, action string) (string, error) {
	if a, ok := strings.CutSuffix(action, ".waitForTaskToken"); ok {
		// The call is made; the task completes when something sends its token.
		if _, err := r.sdkSfn(ctx, t, a); err != nil {
			return "", err
		}
		return "", engine.ErrCallback
	}
	x := r.executions()
	if x == nil {
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: "Step Functions is not available to this runner: cannot run " + t.Resource}
	}
	fail := func(err error) (string, error) { return "", r.apiError(ctx, err, "Sfn") }
	o, err := parameterObject(t.Parameters, "aws-sdk:sfn:"+action)
	if err != nil {
		return "", err
	}
	str := func(name string, required bool) (string, error) {
		var s string
		err := stringField(o, name, &s, required)
		return s, err
	}
	optional := func(name string) (*string, error) {
		if v, ok := o.Get(name); !ok || v == nil {
			return nil, nil
		}
		s, err := str(name, false)
		return &s, err
	}
	switch action {
	case "startExecution":
		in, err := startInput(t.Parameters, "aws-sdk:sfn:startExecution")
		if err != nil {
			return "", err
		}
		ex, err := x.StartExecution(ctx, in)
		if err != nil {
			return fail(err)
		}
		return jsonv.String(jsonv.ObjectOf(
			jsonv.Member{Key: "ExecutionArn", Value: ex.Arn},
			jsonv.Member{Key: "StartDate", Value: ex.StartDate.UTC().Format("2006-01-02T15:04:05.000Z")},
		)), nil
	case "describeExecution":
		arn, err := str("ExecutionArn", true)
		if err != nil {
			return "", err
		}
		ex, err := x.DescribeExecution(ctx, arn)
		if err != nil {
			return fail(err)
		}
		d, err := r.describe(ctx, ex, false, false)
		if err != nil {
			return "", err
		}
		return jsonv.String(d), nil
	case "stopExecution":
		arn, err := str("ExecutionArn", true)
		if err != nil {
			return "", err
		}
		errName, err := optional("Error")
		if err != nil {
			return "", err
		}
		cause, err := optional("Cause")
		if err != nil {
			return "", err
		}
		stopped, err := x.StopExecution(ctx, arn, errName, cause)
		if err != nil {
			return fail(err)
		}
		return jsonv.String(jsonv.ObjectOf(jsonv.Member{Key: "StopDate", Value: stopped.UTC().Format("2006-01-02T15:04:05.000Z")})), nil
	case "listExecutions":
		return r.listExecutions(ctx, x, o, str)
	case "sendTaskSuccess":
		token, err := str("TaskToken", true)
		if err != nil {
			return "", err
		}
		output := "null"
		switch v, _ := o.Get("Output"); v := v.(type) {
		case nil:
		case string:
			output = v
		default:
			output = jsonv.String(v)
		}
		if err := x.SendTaskSuccess(ctx, token, output); err != nil {
			return fail(err)
		}
		return "{}", nil
	case "sendTaskFailure":
		token, err := str("TaskToken", true)
		if err != nil {
			return "", err
		}
		errName, err := optional("Error")
		if err != nil {
			return "", err
		}
		cause, err := optional("Cause")
		if err != nil {
			return "", err
		}
		if err := x.SendTaskFailure(ctx, token, errName, cause); err != nil {
			return fail(err)
		}
		return "{}", nil
	case "sendTaskHeartbeat":
		token, err := str("TaskToken", true)
		if err != nil {
			return "", err
		}
		if err := x.SendTaskHeartbeat(ctx, token); err != nil {
			return fail(err)
		}
		return "{}", nil
	}
	return "", &engine.TaskError{Name: "States.TaskFailed",
		Cause: "The action " + action + " of aws-sdk:sfn is not supported by Stepline yet"}
}

// listExecutions is ListExecutions with StateMachineArn, StatusFilter, MaxResults, NextToken.
func (r *Runner) listExecutions(ctx context.Context, x Executions, o *jsonv.Object, str func(string, bool) (string, error)) (string, error) {
	in := &service.ListExecutionsInput{}
	var err error
	if in.StateMachineArn, err = str("StateMachineArn", true); err != nil {
		return "", err
	}
	status, err := str("StatusFilter", false)
	if err != nil {
		return "", err
	}
	in.Status = store.ExecutionStatus(status)
	if in.Token, err = str("NextToken", false); err != nil {
		return "", err
	}
	if v, ok := o.Get("MaxResults"); ok && v != nil {
		n, isNumber := v.(jsonv.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		if !isNumber || err != nil {
			return "", &engine.TaskError{Name: "States.Runtime", Cause: "The field MaxResults must be an integer, not " + jsonv.TypeName(v)}
		}
		in.Limit = int(i)
	}
	list, next, err := x.ListExecutions(ctx, in)
	if err != nil {
		return "", r.apiError(ctx, err, "Sfn")
	}
	items := make([]jsonv.Value, 0, len(list))
	for _, ex := range list {
		it := jsonv.NewObject(8)
		it.Set("ExecutionArn", ex.Arn)
		it.Set("Name", ex.Name)
		if ex.Redrives != nil {
			it.Set("RedriveCount", jsonv.Int(ex.Redrives.Count))
		}
		it.Set("StartDate", ex.StartDate.UTC().Format("2006-01-02T15:04:05.000Z"))
		it.Set("StateMachineArn", ex.StateMachineArn)
		if ex.AliasArn != "" {
			it.Set("StateMachineAliasArn", ex.AliasArn)
		}
		if ex.VersionArn != "" {
			it.Set("StateMachineVersionArn", ex.VersionArn)
		}
		it.Set("Status", string(ex.Status))
		if ex.StopDate != nil {
			it.Set("StopDate", ex.StopDate.UTC().Format("2006-01-02T15:04:05.000Z"))
		}
		items = append(items, it)
	}
	out := jsonv.ObjectOf(jsonv.Member{Key: "Executions", Value: items})
	if next != "" {
		out.Set("NextToken", next)
	}
	return jsonv.String(out), nil
}
