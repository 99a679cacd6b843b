// Package task carries out Task states: it is the engine.Runner of `stepline serve` and
// `stepline run`, dispatching each task by its resource ARN to the integration that runs it.
//
// It runs AWS Lambda: the function ARN form (arn:aws:lambda:…:function:NAME) and the
// optimised integration (arn:aws:states:::lambda:invoke, with .waitForTaskToken), with the
// results, errors and causes AWS records for them (see lambda.go); and nested workflows,
// arn:aws:states:::states:startExecution with .sync, .sync:2 and .waitForTaskToken, and the
// Step Functions actions of aws-sdk:sfn (sfn.go, sdksfn.go); the S3 actions of aws-sdk:s3
// (s3.go); Glue, arn:aws:states:::glue:startJobRun[.sync] and aws-sdk:glue (glue.go); and the
// HTTP Task, arn:aws:states:::http:invoke, which calls any HTTP API authorized by an
// EventBridge connection (package events) and caches OAuth tokens (http.go). Other resources
// fail with States.TaskFailed and a cause that names the resource. A task of an execution run
// under a Step Functions Local mock test case gets its mocked response instead, if its state
// has one (mock.go).
package task

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/mock"
)

// Lambda invokes functions; *lambda.Service is one.
type Lambda interface {
	Invoke(ctx context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error)
}

// Options configure a Runner.
type Options struct {
	// Lambda invokes functions; nil fails Lambda tasks with States.TaskFailed.
	Lambda Lambda
	// Executions starts and watches nested executions (states:startExecution, aws-sdk:sfn);
	// nil fails those tasks with States.TaskFailed. The server's *service.Service is one; it is
	// made after the engine that needs this Runner, so it may be given later with
	// SetExecutions, before the engine starts.
	Executions Executions
	// S3 is the S3 API (*s3.Service is one) that aws-sdk:s3 tasks call in-process; nil fails
	// those tasks with States.TaskFailed.
	S3 http.Handler
	// Glue is the Glue API (*glue.Service is one) that glue:startJobRun and aws-sdk:glue tasks
	// call; nil fails those tasks with States.TaskFailed.
	Glue Glue
	// Mocks is the mock configuration (SFN_MOCK_CONFIG) that answers the states of executions
	// run under one of its test cases; nil answers none.
	Mocks *mock.Config
	// Connections finds the EventBridge connections HTTP Tasks (http:invoke) name; nil fails
	// those tasks with Events.ConnectionResource.InternalError.
	Connections Connections
	// Events is EventBridge, which events:putEvents tasks put events on; nil fails those tasks
	// with States.TaskFailed.
	Events Events
	// RootCAs are the roots HTTP Tasks trust (LoadCABundle); nil means the machine's.
	RootCAs *x509.CertPool
	// Region and Account complete function names in AWS's error messages.
	Region  string
	Account string
	// Clock dates the HTTP metadata of lambda:invoke results; nil means the real clock.
	Clock  clock.Clock
	Logger *slog.Logger
}

// Runner carries out tasks; it implements engine.Runner.
type Runner struct {
	o   Options
	log *slog.Logger
	// http is the client of HTTP Tasks, tokens their OAuth tokens.
	http   *http.Client
	tokens oauthTokens
}

var _ engine.Runner = (*Runner)(nil)

// SetExecutions gives the Runner its Executions after New (see Options.Executions). Call it
// before the engine that runs tasks starts.
func (r *Runner) SetExecutions(x Executions) { r.o.Executions = x }

func (r *Runner) executions() Executions { return r.o.Executions }

// New returns a Runner.
func New(o Options) *Runner {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{o: o, log: o.Logger, http: newHTTPClient(o.RootCAs), tokens: oauthTokens{m: map[string]*oauthToken{}}}
}

// Run carries out t. It returns the task's output (JSON text), an *engine.TaskError, or
// engine.ErrCallback for a task that completes through its token.
func (r *Runner) Run(ctx context.Context, t *engine.Task) (string, error) {
	switch t.Resource {
	case interp.ReadItemsResource:
		return r.readItems(ctx, t)
	case interp.WriteResultsResource:
		return r.writeResults(ctx, t)
	}
	if t.TestCase != nil {
		if out, mocked, err := r.mocked(t); mocked {
			return out, err
		}
	}
	if isPutEvents(t.Resource) {
		return r.putEvents(ctx, t)
	}
	switch kind, action := classify(t.Resource); kind {
	case kindLambdaFunction:
		return r.invokeFunction(ctx, t)
	case kindLambdaInvoke:
		out, err := r.invokeService(ctx, t)
		if err == nil && action == actionWaitForTaskToken {
			return "", engine.ErrCallback
		}
		return out, err
	case kindStates:
		return r.startExecution(ctx, t, action)
	case kindSdkSfn:
		return r.sdkSfn(ctx, t, action)
	case kindSdkS3:
		return r.sdkS3(ctx, t, action)
	case kindGlue:
		return r.glueJob(ctx, t, action)
	case kindSdkGlue:
		return r.sdkGlue(ctx, t, action)
	case kindHTTP:
		return r.httpInvoke(ctx, t)
	}
	return "", &engine.TaskError{Name: "States.TaskFailed",
		Cause: fmt.Sprintf("The resource %s of state %q is not supported by Stepline yet", t.Resource, t.StateName)}
}

type resourceKind int

const (
	kindUnsupported    resourceKind = iota
	kindLambdaFunction              // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
	kindLambdaInvoke                // arn:aws:states:::lambda:invoke[.waitForTaskToken]
	kindStates                      // arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]
	kindSdkSfn                      // arn:aws:states:::aws-sdk:sfn:ACTION
	kindSdkS3                       // arn:aws:states:::aws-sdk:s3:ACTION
	kindGlue                        // arn:aws:states:::glue:startJobRun[.sync]
	kindSdkGlue                     // arn:aws:states:::aws-sdk:glue:ACTION
	kindHTTP                        // arn:aws:states:::http:invoke
)

const actionWaitForTaskToken = "invoke.waitForTaskToken"

// classify tells which integration runs a resource, and the action of an optimised one.
func classify(resource string) (resourceKind, string) {
	parts := strings.SplitN(resource, ":", 7)
	if len(parts) < 6 || parts[0] != "arn" {
		return kindUnsupported, ""
	}
	switch {
	case parts[2] == "lambda" && parts[5] == "function" && len(parts) == 7 && parts[6] != "":
		return kindLambdaFunction, ""
	case parts[2] == "states" && parts[3] == "" && parts[4] == "" && parts[5] == "lambda" && len(parts) == 7:
		if parts[6] == "invoke" || parts[6] == actionWaitForTaskToken {
			return kindLambdaInvoke, parts[6]
		}
	case parts[2] == "states" && parts[3] == "" && parts[4] == "" && parts[5] == "states" && len(parts) == 7:
		switch parts[6] {
		case actionStart, actionStartSync, actionStartSync2, actionStartCallback:
			return kindStates, parts[6]
		}
	case parts[2] == "states" && parts[3] == "" && parts[4] == "" && parts[5] == "aws-sdk" && len(parts) == 7:
		if action, ok := strings.CutPrefix(parts[6], "sfn:"); ok && action != "" {
			return kindSdkSfn, action
		}
		if action, ok := strings.CutPrefix(parts[6], "s3:"); ok && action != "" {
			return kindSdkS3, action
		}
		if action, ok := strings.CutPrefix(parts[6], "glue:"); ok && action != "" {
			return kindSdkGlue, action
		}
	case parts[2] == "states" && parts[3] == "" && parts[4] == "" && parts[5] == "http" && len(parts) == 7:
		// Only the request-response pattern: AWS refuses http:invoke.waitForTaskToken.
		if parts[6] == "invoke" {
			return kindHTTP, parts[6]
		}
	case parts[2] == "states" && parts[3] == "" && parts[4] == "" && parts[5] == "glue" && len(parts) == 7:
		if parts[6] == actionGlueStart || parts[6] == actionGlueStartSync {
			return kindGlue, parts[6]
		}
	}
	return kindUnsupported, ""
}

// newUUID returns a random version 4 UUID, as AWS's request ids are.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
