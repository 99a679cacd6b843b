package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// FrozenClock is the start time of clock-dependent cases: the corpus froze the wall clock there
// when it derived their inputs.
var FrozenClock = time.Date(2022, 7, 13, 13, 48, 1, 0, time.UTC)

// Request is one execution for the engine to run, with the names the case was recorded with so
// that ARNs normalise to the recorded placeholders.
type Request struct {
	Definition       string
	Type             string // STANDARD or EXPRESS
	Input            string // the exact input text
	StateMachineName string
	ExecutionName    string
	RoleArn          string
	Sync             bool      // started with StartSyncExecution
	Start            time.Time // zero: the engine's own clock
	// Functions are the Lambda functions the test created before starting the execution.
	Functions []Function
	// StateMachines are the state machines (ARN → definition) the execution may start, non-nil
	// for a case that needs Step Functions (see states.go).
	StateMachines map[string]string
	// Buckets and Objects are the S3 buckets and objects the test created before starting the
	// execution; a case that needs S3 has a Buckets slice, perhaps empty, that is not nil.
	Buckets []string
	Objects []Object
	// Events is set for a case that needs EventBridge (events.go).
	Events bool
	// Logging is the state machine's loggingConfiguration, nil when it had none: the engine
	// then returns the events it logged too (logs.go).
	Logging *Logging
	// ExecutionArn is the ARN the execution must have when it is not the standard one (an
	// EXPRESS execution's, whose last part the case recorded); "" otherwise.
	ExecutionArn string
}

// Engine is the Stepline under test.
type Engine interface {
	// Validate checks a definition as CreateStateMachine does; nil means valid.
	Validate(definition, machineType string) *Rejection
	// Run executes req and returns what `stepline run --json --history` prints. A definition the
	// engine rejects comes back as a *Rejection error.
	Run(ctx context.Context, req Request) ([]byte, error)
	// TestState answers a TestState request (the API's JSON) with the API's response JSON. A
	// request TestState refuses comes back as a *Rejection error with its code.
	TestState(ctx context.Context, request []byte) ([]byte, error)
}

// Rejection is a definition the engine refused: AWS's error message and the diagnostics.
type Rejection struct {
	// Code is the API's error code where the case records one (TestState's).
	Code        string
	Message     string
	Diagnostics []Diagnostic
}

func (r *Rejection) Error() string { return r.Message }

// Diagnostic is one finding of definition validation, as ValidateStateMachineDefinition reports it.
type Diagnostic struct {
	Code     string
	Message  string
	Location string
}

// RunAll runs cases on workers goroutines, each execution bounded by timeout, and returns their
// outcomes in the order of cases.
func RunAll(ctx context.Context, eng Engine, cases []*Case, workers int, timeout time.Duration) []Outcome {
	out := make([]Outcome, len(cases))
	parallel(len(cases), workers, func(i int) { out[i] = RunCase(ctx, eng, cases[i], timeout) })
	return out
}

// parallel calls f(0) … f(n-1) on a pool of workers goroutines.
func parallel(n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// RunCase runs one case. A panic in the engine fails the case instead of the whole run.
func RunCase(ctx context.Context, eng Engine, c *Case, timeout time.Duration) (o Outcome) {
	if reason := SkipReason(c); reason != "" {
		return Outcome{Case: c, Skip: reason}
	}
	if c.LoadErr != nil {
		return failed(c, "case cannot be loaded: "+c.LoadErr.Error(), "case cannot be loaded")
	}
	defer func() {
		if r := recover(); r != nil {
			o = failed(c, fmt.Sprintf("engine panic: %v\n%s", r, debug.Stack()), "engine panic: "+generalise(fmt.Sprint(r)))
		}
	}()
	switch {
	case c.Kind == KindTestState || c.Kind == KindInvalidDefinition && c.ctx("api") == "TestState":
		res, err := eng.TestState(ctx, testStateRequest(c))
		return CheckTestState(c, res, err)
	}
	switch c.Kind {
	case KindExecution:
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res, err := eng.Run(ctx, executionRequest(c))
		var rej *Rejection
		switch {
		case errors.As(err, &rej):
			return failed(c, "definition rejected: "+rej.Message, "definition rejected: "+generalise(rej.Message))
		case err != nil:
			return failed(c, "engine error: "+err.Error(), "engine error: "+generalise(err.Error()))
		}
		return CheckExecution(c, res)
	case KindInvalidDefinition, KindValidateDefinition:
		return CheckDefinition(c, eng.Validate(c.Definition, definitionType(c)))
	}
	return failed(c, "no runner for case kind "+string(c.Kind), "no runner for case kind "+string(c.Kind))
}

func executionRequest(c *Case) Request {
	req := Request{
		Definition:       c.Definition,
		Type:             c.ctx("state_machine_type"),
		Input:            c.ctx("input_text"),
		StateMachineName: c.ctx("state_machine_name"),
		ExecutionName:    c.ctx("execution_name"),
		RoleArn:          c.ctx("role_arn"),
		Sync:             c.ctx("start_api") == "StartSyncExecution",
		Functions:        functions(c),
		StateMachines:    stateMachines(c),
		Logging:          loggingOf(c),
		ExecutionArn:     expressArn(c),
	}
	if slices.Contains(c.Requires, "s3") {
		req.Buckets = append([]string{}, buckets(c)...)
		req.Objects = objects(c)
	}
	req.Events = slices.Contains(c.Requires, "events")
	if c.ctx("input_kind") == "omitted" {
		req.Input = "{}" // what StartExecution records when no input is given
	}
	if b, _ := get(c.Context, "clock_dependent").(bool); b {
		req.Start = FrozenClock
	}
	return req
}

// definitionType is the machine type a definition case was validated for: context.
// state_machine_type when recorded, else the type the request carried, else STANDARD.
func definitionType(c *Case) string {
	if t := c.ctx("state_machine_type"); t != "" {
		return t
	}
	if args, _ := get(c.Context, "request_args").(*jsonv.Object); args != nil {
		if t := str(args, "type"); t != "" {
			return t
		}
	}
	return "STANDARD"
}
