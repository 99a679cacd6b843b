// Package awsapi serves the AWS Step Functions API over AWS's JSON 1.0 protocol, so that the
// AWS CLI, boto3 and the AWS SDKs work against Stepline unchanged: POST / with the action named
// in X-Amz-Target, JSON bodies, AWS's error codes and HTTP statuses, timestamps as epoch
// seconds. The operations themselves live in package service; this package only translates.
// Signatures (--auth) are verified before a request gets here, by the server's router.
package awsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// MaxRequestBody is AWS's limit on a Step Functions request: 1 MB.
const MaxRequestBody = 1 << 20

// TargetPrefix is the X-Amz-Target prefix of the Step Functions actions.
const TargetPrefix = "AWSStepFunctions."

const contentType = "application/x-amz-json-1.0"

// Options configure the API.
type Options struct {
	Service *service.Service
	Logger  *slog.Logger
	// ActivityPoll is how long GetActivityTask waits for a task (default 60s, as AWS).
	ActivityPoll time.Duration
}

// API is the http.Handler of the Step Functions API.
type API struct {
	o       Options
	log     *slog.Logger
	actions map[string]action

	// polls is cancelled by StopPolls, ending long polls so that a shutdown need not wait
	// for them.
	polls     context.Context
	stopPolls context.CancelFunc
}

// action carries out one API action on a request body. It returns a value to encode as the
// response, or a rawJSON response that is written as it is.
type action func(ctx context.Context, body []byte) (any, error)

// rawJSON is a response already encoded, such as a page of history events spliced from the
// store's encoded events.
type rawJSON []byte

// New checks the options and returns the API.
func New(o Options) (*API, error) {
	if o.Service == nil {
		return nil, errors.New("awsapi: Options.Service is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ActivityPoll == 0 {
		o.ActivityPoll = service.ActivityPoll
	}
	a := &API{o: o, log: o.Logger}
	a.polls, a.stopPolls = context.WithCancel(context.Background())
	a.actions = map[string]action{
		"CreateStateMachine":               a.createStateMachine,
		"DescribeStateMachine":             a.describeStateMachine,
		"UpdateStateMachine":               a.updateStateMachine,
		"DeleteStateMachine":               a.deleteStateMachine,
		"ListStateMachines":                a.listStateMachines,
		"ValidateStateMachineDefinition":   a.validateStateMachineDefinition,
		"StartExecution":                   a.startExecution,
		"DescribeExecution":                a.describeExecution,
		"DescribeStateMachineForExecution": a.describeStateMachineForExecution,
		"StopExecution":                    a.stopExecution,
		"ListExecutions":                   a.listExecutions,
		"GetExecutionHistory":              a.getExecutionHistory,
		"CreateActivity":                   a.createActivity,
		"DescribeActivity":                 a.describeActivity,
		"ListActivities":                   a.listActivities,
		"DeleteActivity":                   a.deleteActivity,
		"GetActivityTask":                  a.getActivityTask,
		"SendTaskSuccess":                  a.sendTaskSuccess,
		"SendTaskFailure":                  a.sendTaskFailure,
		"SendTaskHeartbeat":                a.sendTaskHeartbeat,
		"ListTagsForResource":              a.listTagsForResource,
		"TagResource":                      a.tagResource,
		"UntagResource":                    a.untagResource,
		"PublishStateMachineVersion":       a.publishStateMachineVersion,
		"ListStateMachineVersions":         a.listStateMachineVersions,
		"DeleteStateMachineVersion":        a.deleteStateMachineVersion,
		"CreateStateMachineAlias":          a.createStateMachineAlias,
		"DescribeStateMachineAlias":        a.describeStateMachineAlias,
		"UpdateStateMachineAlias":          a.updateStateMachineAlias,
		"DeleteStateMachineAlias":          a.deleteStateMachineAlias,
		"ListStateMachineAliases":          a.listStateMachineAliases,
		"RedriveExecution":                 a.redriveExecution,
		"TestState":                        a.testState,
		"StartSyncExecution":               a.startSyncExecution,
		"DescribeMapRun":                   a.describeMapRun,
		"ListMapRuns":                      a.listMapRuns,
		"UpdateMapRun":                     a.updateMapRun,
	}
	return a, nil
}

// StopPolls ends the GetActivityTask long polls in progress and to come: they answer at once
// with no task, as a poll that timed out. Servers call it when they begin shutting down.
func (a *API) StopPolls() { a.stopPolls() }

// apiError is an error of the protocol itself, or a request validation failure.
type apiError struct {
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// ServeHTTP handles POST / with a Step Functions action.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	target := r.Header.Get("X-Amz-Target")
	name := strings.TrimPrefix(target, TargetPrefix)
	resp, err := a.serveSafely(r, target, name)
	reqID := requestID()
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Requestid", reqID)
	if err != nil {
		body := a.describeError(err, name)
		code := body.Type
		st := status(code)
		a.log.LogAttrs(r.Context(), logLevel(st), "api request failed", slog.String("action", name),
			slog.String("code", code), slog.Int("status", st), slog.Duration("took", time.Since(start)),
			slog.String("request_id", reqID), slog.Any("err", err))
		w.Header().Set("X-Amzn-Errortype", code)
		w.WriteHeader(st)
		b, _ := json.Marshal(body) // strings always marshal
		_, _ = w.Write(b)
		return
	}
	var b []byte
	if raw, ok := resp.(rawJSON); ok {
		b = raw
	} else if b, err = json.Marshal(resp); err != nil {
		a.log.Error("encoding a response", "action", name, "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, `{"__type":%q,"message":"Internal Failure"}`, codeInternalFailure)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelDebug, "api request", slog.String("action", name),
		slog.Duration("took", time.Since(start)), slog.String("request_id", reqID))
	_, _ = w.Write(b)
}

// serveSafely is serve with a panic turned into an error, so that a defect answers the caller
// InternalFailure in AWS's shape, and the log holds where it happened, instead of the
// connection being dropped.
func (a *API) serveSafely(r *http.Request, target, name string) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("awsapi: %s panicked: %v\n%s", name, p, debug.Stack())
		}
	}()
	return a.serve(r, target, name)
}

func logLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	// ResourceName is a member of AWS's TooManyTags and ResourceNotFound.
	ResourceName string `json:"resourceName,omitempty"`
}

func (a *API) serve(r *http.Request, target, name string) (any, error) {
	if r.ContentLength > MaxRequestBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBody+1))
	if err != nil {
		return nil, &apiError{Code: codeSerialization, Message: "Could not read the request body"}
	}
	if len(body) > MaxRequestBody {
		return nil, tooLarge()
	}
	act := a.actions[name]
	if !strings.HasPrefix(target, TargetPrefix) || act == nil {
		return nil, &apiError{Code: codeUnknownOperation, Message: unknownOperation(target)}
	}
	return act(r.Context(), body)
}

func tooLarge() error {
	return &apiError{Code: codeTooLarge, Message: fmt.Sprintf("Request size exceeded %d bytes", MaxRequestBody)}
}

func unknownOperation(target string) string {
	if target == "" {
		return "Missing X-Amz-Target header"
	}
	return "Operation " + target + " is not supported"
}

// describeError returns the error body sent for err. Errors that are neither the service's
// nor the protocol's are internal failures: their text stays in the log.
func (a *API) describeError(err error, action string) errorBody {
	var se *service.Error
	if errors.As(err, &se) {
		return errorBody{Type: string(se.Code), Message: se.Message, ResourceName: se.ResourceName}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return errorBody{Type: ae.Code, Message: ae.Message}
	}
	// The database's faults are not bugs and pass: say which, so that an operator knows what
	// to fix and a client that the same request may succeed later (SDKs retry a 503).
	switch fault := a.o.Service.StoreFault(err); {
	case errors.Is(fault, store.ErrStorageFull):
		return errorBody{Type: codeServiceUnavailable, Message: "The database is full (no space left on its disk): " +
			action + " was not carried out; retry once space is freed"}
	case errors.Is(fault, store.ErrUnavailable):
		// No promise that nothing was written: a connection that dropped as it committed may
		// have committed. Retrying is safe where AWS makes it so (StartExecution by name).
		return errorBody{Type: codeServiceUnavailable, Message: "The database is unavailable (connection lost or refused): " +
			action + " failed; retry it"}
	}
	return errorBody{Type: codeInternalFailure, Message: "An internal error occurred while processing " + action}
}

// decode parses a request body into v. AWS's JSON protocol ignores members it does not know;
// a body that is not a JSON object, or a member of the wrong type, is a SerializationException.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return &apiError{Code: codeSerialization, Message: "Request body must be a JSON object"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apiError{Code: codeSerialization,
				Message: fmt.Sprintf("Value of type %s can not be converted to %s at '%s'", te.Value, te.Type, te.Field)}
		}
		return &apiError{Code: codeSerialization, Message: "Malformed JSON request body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
