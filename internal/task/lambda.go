package task

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/telemetry"
)

// unknownCause is how AWS explains a function error whose payload names no errorType (a
// function that timed out or crashed on older runtimes): the error is Lambda.Unknown.
const unknownCause = "The cause could not be determined because Lambda did not return an error type. Returned payload: "

// invokeFunction runs the function ARN form: the effective parameters are the payload and the
// function's result is the task's output, both as text.
func (r *Runner) invokeFunction(ctx context.Context, t *engine.Task) (string, error) {
	res, err := r.invoke(ctx, &lambda.InvokeParams{FunctionName: t.Resource, Payload: []byte(t.Parameters), TraceHeader: telemetry.XRayHeader(t.TraceParent)})
	if err != nil {
		return "", err
	}
	if res.FunctionError != "" {
		// AWS records the function's error document as Lambda sent it (Python's "key": value
		// spacing included).
		return "", functionError(res.Payload, false)
	}
	if len(res.Payload) > interp.MaxPayload {
		return "", dataLimit(t.Resource)
	}
	if len(res.Payload) == 0 {
		return "null", nil
	}
	return string(res.Payload), nil
}

// invokeService runs arn:aws:states:::lambda:invoke: Parameters (or Arguments) name the
// function and carry the Invoke request; the output is Invoke's response as the Java SDK that
// Step Functions uses reports it.
func (r *Runner) invokeService(ctx context.Context, t *engine.Task) (string, error) {
	p, err := invokeParams(t.Parameters)
	if err != nil {
		return "", err
	}
	p.TraceHeader = telemetry.XRayHeader(t.TraceParent)
	res, err := r.invoke(ctx, p)
	if err != nil {
		return "", err
	}
	if res.FunctionError != "" {
		// Here AWS re-serialises the error document: compact, keys in Lambda's order.
		return "", functionError(res.Payload, true)
	}
	out := r.invokeOutput(res)
	if len(out) > interp.MaxPayload {
		return "", dataLimit("lambda")
	}
	return out, nil
}

// invoke calls Lambda and turns a refused call into the error AWS records.
func (r *Runner) invoke(ctx context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error) {
	if r.o.Lambda == nil {
		return nil, &engine.TaskError{Name: "States.TaskFailed", Cause: "Lambda is not available to this runner: cannot invoke " + p.FunctionName}
	}
	res, err := r.o.Lambda.Invoke(ctx, p)
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		// The engine is stopping or the execution's run was abandoned: no result to record.
		return nil, fmt.Errorf("task: invoking %s: %w", p.FunctionName, ctx.Err())
	}
	var le *lambda.Error
	if errors.As(err, &le) {
		return nil, &engine.TaskError{Name: "Lambda." + le.Code, Cause: sdkCause(le)}
	}
	r.log.Warn("lambda invoke failed", "function", p.FunctionName, "err", err)
	// AWS's name for a failure inside Lambda; Retry blocks written for AWS retry on it.
	return nil, &engine.TaskError{Name: "Lambda.ServiceException", Cause: err.Error()}
}

// sdkCause is a Lambda API error as the AWS SDK for Java words it, which is what AWS records:
// "Function not found: arn:… (Service: AWSLambda; Status Code: 404; Error Code:
// ResourceNotFoundException; Request ID: …; Proxy: null)".
func sdkCause(le *lambda.Error) string {
	status := le.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return fmt.Sprintf("%s (Service: AWSLambda; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)",
		le.Message, status, le.Code, newUUID())
}

// functionError is a function's unhandled error: its errorType is the error Retry and Catch
// match, its error document the cause.
func functionError(payload []byte, compact bool) error {
	v, err := jsonv.Parse(payload)
	if err == nil {
		if o, ok := v.(*jsonv.Object); ok {
			if et, ok := o.Get("errorType"); ok {
				if name, ok := et.(string); ok && name != "" {
					cause := string(payload)
					if compact {
						cause = jsonv.String(v)
					}
					return &engine.TaskError{Name: name, Cause: cause}
				}
			}
		}
	}
	return &engine.TaskError{Name: "Lambda.Unknown", Cause: unknownCause + string(payload)}
}

func dataLimit(task string) error {
	return &engine.TaskError{Name: "States.DataLimitExceeded",
		Cause: "The state/task '" + task + "' returned a result with a size exceeding the maximum number of bytes service limit."}
}

// invokeParams reads lambda:invoke's Parameters. Payload is sent as AWS sends it: a string as
// its text (so "0.0" arrives as the number 0.0), any other value as JSON, and no payload (null
// or absent) as Lambda's empty event {}.
func invokeParams(parameters string) (*lambda.InvokeParams, error) {
	v, err := jsonv.ParseString(parameters)
	if err != nil {
		return nil, fmt.Errorf("task: lambda:invoke parameters: %w", err)
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, &engine.TaskError{Name: "States.Runtime", Cause: "The parameters of lambda:invoke must be an object, not " + jsonv.TypeName(v)}
	}
	p := &lambda.InvokeParams{Payload: []byte("{}")}
	fields := []struct {
		name string
		dst  *string
	}{
		{"FunctionName", &p.FunctionName}, {"Qualifier", &p.Qualifier}, {"InvocationType", &p.InvocationType},
		{"ClientContext", &p.ClientContext}, {"LogType", &p.LogType},
	}
	for _, f := range fields {
		fv, ok := o.Get(f.name)
		if !ok || fv == nil {
			continue
		}
		s, ok := fv.(string)
		if !ok {
			return nil, &engine.TaskError{Name: "States.Runtime",
				Cause: fmt.Sprintf("The field %s of lambda:invoke must be a string, not %s", f.name, jsonv.TypeName(fv))}
		}
		*f.dst = s
	}
	if p.FunctionName == "" {
		return nil, &engine.TaskError{Name: "States.Runtime", Cause: "The field FunctionName of lambda:invoke is required"}
	}
	switch pv, _ := o.Get("Payload"); pv := pv.(type) {
	case nil:
	case string:
		p.Payload = []byte(pv)
	default:
		p.Payload = jsonv.Append(nil, pv)
	}
	return p, nil
}

// invokeOutput is lambda:invoke's result: ExecutedVersion, LogResult (with LogType Tail),
// Payload, SdkHttpMetadata, SdkResponseMetadata and StatusCode, in AWS's key order, with the
// HTTP headers Lambda answers with (AllHttpHeaders in the order AWS lists them, HttpHeaders
// sorted without regard to case, as Java's TreeMap with CASE_INSENSITIVE_ORDER sorts them).
func (r *Runner) invokeOutput(res *lambda.InvokeResult) string {
	version := res.ExecutedVersion
	if version == "" {
		version = "$LATEST"
	}
	var payload jsonv.Value = ""
	if len(res.Payload) > 0 {
		if v, err := jsonv.Parse(res.Payload); err == nil {
			payload = v
		} else {
			payload = string(res.Payload)
		}
	}
	requestID := res.RequestID
	if requestID == "" {
		requestID = newUUID()
	}
	now := r.o.Clock.Now().UTC()
	headers := make([]jsonv.Member, 0, 9)
	if res.LogResult != "" {
		headers = append(headers, jsonv.Member{Key: "X-Amz-Log-Result", Value: res.LogResult})
	}
	headers = append(headers,
		jsonv.Member{Key: "X-Amz-Executed-Version", Value: version},
		jsonv.Member{Key: "x-amzn-Remapped-Content-Length", Value: "0"},
		jsonv.Member{Key: "Connection", Value: "keep-alive"},
		jsonv.Member{Key: "x-amzn-RequestId", Value: requestID},
		jsonv.Member{Key: "Content-Length", Value: strconv.Itoa(len(res.Payload))},
		jsonv.Member{Key: "Date", Value: now.Format(http.TimeFormat)},
		jsonv.Member{Key: "X-Amzn-Trace-Id", Value: fmt.Sprintf("Root=1-%08x-%s;Sampled=0", now.Unix(), strings.ReplaceAll(newUUID(), "-", "")[:24])},
		jsonv.Member{Key: "Content-Type", Value: "application/json"},
	)
	all := jsonv.NewObject(len(headers))
	for _, h := range headers {
		all.Set(h.Key, []jsonv.Value{h.Value})
	}
	sorted := slices.Clone(headers)
	slices.SortFunc(sorted, func(a, b jsonv.Member) int { return strings.Compare(strings.ToLower(a.Key), strings.ToLower(b.Key)) })
	single := jsonv.ObjectOf(sorted...)
	status := jsonv.Int(int64(res.StatusCode))
	out := jsonv.NewObject(6)
	out.Set("ExecutedVersion", version)
	if res.LogResult != "" {
		out.Set("LogResult", res.LogResult)
	}
	out.Set("Payload", payload)
	out.Set("SdkHttpMetadata", jsonv.ObjectOf(
		jsonv.Member{Key: "AllHttpHeaders", Value: all},
		jsonv.Member{Key: "HttpHeaders", Value: single},
		jsonv.Member{Key: "HttpStatusCode", Value: status},
	))
	out.Set("SdkResponseMetadata", jsonv.ObjectOf(jsonv.Member{Key: "RequestId", Value: requestID}))
	out.Set("StatusCode", status)
	return jsonv.String(out)
}
