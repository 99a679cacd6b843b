// Package lambda is Stepline's AWS Lambda: the Lambda API (REST-JSON, /2015-03-31/functions…),
// functions kept in the store so that every node has them, and invocations carried out by
// package sandbox as local processes speaking the Lambda Runtime API.
//
// CONTRACT FILE written by the lead before the Lambda work started; the Lambda API helper owns
// this package (but not sandbox/) and replaces every stub body below.
package lambda

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store"
)

// Options configure a Service.
type Options struct {
	Store   store.Store
	Clock   clock.Clock
	Account string
	Region  string
	// DataDir holds unpacked code (by SHA-256) and function logs; nodes may share it.
	DataDir string
	// Endpoint is this server's URL, given to function processes as AWS_ENDPOINT_URL.
	Endpoint string
	Logger   *slog.Logger
}

// Service is the Lambda service of one node.
type Service struct{}

// New checks the options and returns the service.
func New(o Options) (*Service, error) { return nil, errors.New("lambda: not written yet") }

// ServeHTTP answers the Lambda API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {}

// Close stops every function process.
func (s *Service) Close() error { return nil }

// InvokeParams is one Invoke call, as the API and Task states make it.
type InvokeParams struct {
	// FunctionName is a name, a full or partial ARN, optionally with ":qualifier".
	FunctionName   string
	Qualifier      string
	InvocationType string // RequestResponse (""), Event or DryRun
	Payload        []byte
	ClientContext  string // base64 JSON
	LogType        string // None ("") or Tail
}

// InvokeResult is Invoke's answer.
type InvokeResult struct {
	StatusCode      int    // 200 RequestResponse, 202 Event, 204 DryRun
	FunctionError   string // "" or "Unhandled"
	Payload         []byte // the function's result, or Lambda's error JSON on a function error
	ExecutedVersion string
	LogResult       string // base64 of the log's last 4 KB, with LogType Tail
}

// Error is a Lambda API error as AWS sends it: the code (x-amzn-ErrorType and "Type" in the
// body's shape), the HTTP status and the message.
type Error struct {
	Code    string // ResourceNotFoundException, InvalidParameterValueException, …
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Invoke invokes a function.
func (s *Service) Invoke(ctx context.Context, p *InvokeParams) (*InvokeResult, error) {
	return nil, errors.New("lambda: not written yet")
}
