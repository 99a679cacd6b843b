// Package sandbox runs Lambda functions as local processes that speak the Lambda Runtime API:
// one process per execution environment, reused warm for one invocation at a time, as Lambda
// does. It knows nothing of the Lambda API or the store: package lambda hands it unpacked code
// and a configuration (Spec) and gets back the function's answer and its log.
//
// CONTRACT FILE written by the lead before the sandbox work started; the sandbox helper owns this
// package and replaces every body below (none of them may stay a stub).
package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/stepline/stepline/internal/clock"
)

// Spec is one function version as the pool runs it.
type Spec struct {
	Function string // the function's name
	Version  string // "$LATEST" or a number
	Arn      string // the function's ARN (unqualified)
	Runtime  string // provided.al2023, provided.al2, python3.x, nodejs*
	Handler  string // module.function (python), file.export (node); ignored for provided.*
	// CodeDir is the unpacked code (LAMBDA_TASK_ROOT); the pool never writes to it.
	CodeDir string
	// Key identifies code and configuration: warm processes serve only invocations of the same
	// Key, so an updated function never reaches an old process.
	Key         string
	Environment map[string]string // the function's Environment.Variables
	Timeout     time.Duration
	MemoryMB    int
	// Concurrency caps this function's simultaneous processes (0: Options.DefaultConcurrency).
	// With Reserved set, an invocation beyond it fails with ErrThrottled instead of waiting.
	Concurrency int
	Reserved    bool
}

// Invocation is one call of a function.
type Invocation struct {
	RequestID     string
	Payload       []byte
	ClientContext string // base64 JSON, passed as Lambda-Runtime-Client-Context
	// TailLog asks for the invocation's log in Result.Log (always kept in the log file).
	TailLog bool
}

// Result is a function's answer. A function error (an exception, a crash, a timeout) is a
// Result with FunctionError "Unhandled" and Lambda's error JSON as Payload, not an error.
type Result struct {
	Payload       []byte
	FunctionError string // "" or "Unhandled"
	Log           []byte // START … END … REPORT lines and what the function printed
	Duration      time.Duration
}

// ErrThrottled: a function with reserved concurrency has all of it in use.
var ErrThrottled = errors.New("sandbox: rate exceeded")

// Options configure a Pool.
type Options struct {
	// Endpoint is set as AWS_ENDPOINT_URL in every process, so that SDK calls reach Stepline.
	Endpoint string
	Region   string
	Account  string
	// LogDir receives one log stream file per process (CloudWatch's layout).
	LogDir             string
	DefaultConcurrency int
	Clock              clock.Clock
	Logger             *slog.Logger
}

// Pool owns every function process of a server.
type Pool struct{}

// New checks the options and returns a pool with no process yet.
func New(o Options) (*Pool, error) { return nil, errors.New("sandbox: not written yet") }

// Invoke runs one invocation on a warm process of spec, or a new one.
func (p *Pool) Invoke(ctx context.Context, spec *Spec, inv *Invocation) (*Result, error) {
	return nil, errors.New("sandbox: not written yet")
}

// Evict stops the idle processes of a function and retires its busy ones when they finish
// (UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction).
func (p *Pool) Evict(function string) {}

// Close stops every process and waits for them to be reaped.
func (p *Pool) Close() error { return nil }
