package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/inproc"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/task"
	"github.com/stepline/stepline/internal/teststate"
)

// Stepline is the Engine made of asl.Parse and the in-process runner, with waits skipped. A
// case's Lambda functions run in a Lambda service made for its execution (see lambda.go).
type Stepline struct {
	// Handlers is the folder of the corpus's Lambda handlers (testdata/lambda).
	Handlers string
	// Work is a folder for the Lambda services' stores and code.
	Work string
}

// Validate parses definition as CreateStateMachine would.
func (Stepline) Validate(definition, machineType string) *Rejection {
	_, err := asl.Parse([]byte(definition), asl.ParseOptions{Type: aslType(machineType)})
	return rejection(err)
}

// Run parses and executes req.
func (s Stepline) Run(ctx context.Context, req Request) ([]byte, error) {
	def, err := asl.Parse([]byte(req.Definition), asl.ParseOptions{Type: aslType(req.Type)})
	if err != nil {
		return nil, rejection(err)
	}
	var clk clock.Clock
	if !req.Start.IsZero() {
		clk = &clock.Fake{T: req.Start}
	}
	var lam *lambda.Service
	if len(req.Functions) > 0 {
		dir, err := os.MkdirTemp(s.Work, "lambda-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		w, err := newLambdaWorld(ctx, dir, s.Handlers, req.Functions)
		if err != nil {
			return nil, err
		}
		defer w.closer()
		lam = w.svc
	}
	var s3svc http.Handler
	if req.Buckets != nil {
		dir, err := os.MkdirTemp(s.Work, "s3-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		svc, err := newS3World(dir, req.Buckets, req.Objects)
		if err != nil {
			return nil, err
		}
		defer svc.Close()
		s3svc = svc
	}
	var ev task.Events
	if req.Events {
		dir, err := os.MkdirTemp(s.Work, "events-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		svc, closeEvents, err := newEventsWorld(ctx, dir)
		if err != nil {
			return nil, err
		}
		defer closeEvents()
		ev = svc
	}
	arn := req.ExecutionArn
	if arn == "" {
		arn = fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", Region, Account, req.StateMachineName, req.ExecutionName)
	}
	var runTask func(context.Context, interp.ScheduleTask) interp.Event
	if r := newRunner(lam, req.StateMachines, s3svc, ev); r != nil {
		runTask = engine.InprocTask(r, arn)
	}
	res, err := inproc.Run(ctx, inproc.Options{
		Definition:       def,
		Input:            req.Input,
		StateMachineName: req.StateMachineName,
		ExecutionName:    req.ExecutionName,
		RoleArn:          req.RoleArn,
		Type:             aslType(req.Type),
		Sync:             req.Sync,
		Account:          Account,
		Region:           Region,
		Clock:            clk,
		RunTask:          runTask,
		ExecutionArn:     req.ExecutionArn,
	})
	if err != nil {
		return nil, err
	}
	out := res.JSON(true)
	if req.Logging != nil {
		logged, err := loggedEvents(ctx, s.Work, req.Logging, req.StateMachineName, arn, res.Events)
		if err != nil {
			return nil, fmt.Errorf("execution logs: %w", err)
		}
		b, err := json.Marshal(logged)
		if err != nil {
			return nil, err
		}
		out = append(append(append(out[:len(out)-1], `,"logged_events":`...), b...), '}')
	}
	return out, nil
}

func aslType(machineType string) asl.MachineType {
	if machineType == "EXPRESS" {
		return asl.Express
	}
	return asl.Standard
}

// rejection converts asl.Parse's error. Any other error also means the definition was not
// accepted; it is reported with its own text and no diagnostics.
func rejection(err error) *Rejection {
	if err == nil {
		return nil
	}
	var de *asl.DefinitionError
	if !errors.As(err, &de) {
		return &Rejection{Message: err.Error()}
	}
	r := &Rejection{Message: de.Error()}
	for _, d := range de.Diagnostics {
		r.Diagnostics = append(r.Diagnostics, Diagnostic{Code: d.Code, Message: d.Message, Location: d.Location})
	}
	return r
}

// TestState answers a TestState request with the teststate package, as the API does.
func (Stepline) TestState(ctx context.Context, request []byte) ([]byte, error) {
	var req teststate.Request
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, fmt.Errorf("TestState request: %w", err)
	}
	req.Region, req.Account = Region, Account
	resp, err := teststate.Run(&req, time.Now())
	var te *teststate.Error
	if errors.As(err, &te) {
		return nil, &Rejection{Code: te.Code, Message: te.Message}
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}
