package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/inproc"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// ExpressExecution is an Express execution. Express executions run in memory and are never
// stored, as AWS keeps no history of them: they are at-least-once, and a crash loses those
// running.
type ExpressExecution struct {
	Arn             string
	Name            string
	StateMachineArn string
	Input           string
	Status          interp.Status
	Output          *string
	Error, Cause    *string
	StartDate       time.Time
	StopDate        time.Time // zero while running
}

// RunExpress runs an Express execution to its end (StartSyncExecution when sync is set). An
// input that is not JSON is an *interp.InputError.
func (e *Engine) RunExpress(ctx context.Context, p StartParams, sync bool) (*ExpressExecution, error) {
	x := e.newExpress(p)
	if err := e.runExpress(ctx, x, p, sync); err != nil {
		return nil, err
	}
	return x, nil
}

// StartExpress starts an Express execution in the background (StartExecution on an EXPRESS
// machine) and returns it running. Its input is checked first, so that a bad one is refused
// as StartExecution refuses it.
func (e *Engine) StartExpress(p StartParams) (*ExpressExecution, error) {
	if _, err := jsonv.ParseString(p.Input); err != nil {
		return nil, &interp.InputError{Err: err}
	}
	x := e.newExpress(p)
	running := *x
	go func() {
		// Nobody waits for the outcome: AWS reports it only in logs, which Stepline keeps none of.
		if err := e.runExpress(context.Background(), x, p, false); err != nil {
			e.log.Error("express execution", "execution", x.Arn, "err", err)
		}
	}()
	return &running, nil
}

func (e *Engine) newExpress(p StartParams) *ExpressExecution {
	sm := p.StateMachine
	return &ExpressExecution{
		Arn:  "arn:aws:states:" + e.o.Region + ":" + e.o.Account + ":express:" + sm.Name + ":" + p.Name + ":" + newUUID(),
		Name: p.Name, StateMachineArn: sm.Arn, Input: p.Input, Status: interp.Running,
		StartDate: e.o.Clock.Now().UTC().Truncate(time.Millisecond),
	}
}

// runExpress runs x to its end with the in-process runner, on the engine's clock and wait
// scale, handing tasks to the engine's Runner.
func (e *Engine) runExpress(ctx context.Context, x *ExpressExecution, p StartParams, sync bool) error {
	sm := p.StateMachine
	def, err := e.Definition(sm)
	if err != nil {
		return err
	}
	// The interpreter times the execution out at interp.ExpressMaxDuration on its own
	// (scaled) time; this bounds it on the wall clock too, for a task that never answers.
	ctx, cancel := context.WithTimeout(ctx, interp.ExpressMaxDuration)
	defer cancel()
	e.o.Metrics.started.Add(1)
	e.o.Metrics.byMachine.started(sm.Arn)
	// What the AWS/States metrics and the trace know the execution by.
	id := &interp.Identity{ExecutionArn: x.Arn, Name: x.Name, StateMachineArn: sm.Arn, StateMachineName: sm.Name,
		StartTime: x.StartDate, TraceParent: p.TraceParent}
	var traceParent func(taskID string) string
	if e.o.Tracer != nil {
		traceParent = func(taskID string) string { return e.o.Tracer.TaskParent(id, taskID) }
	}
	var onEvents func([]history.Event)
	if e.o.ExecutionLogs != nil {
		// Express executions keep no history: their logs, written as they go, are the one
		// record of their events.
		logID := &interp.Identity{ExecutionArn: x.Arn, StateMachineArn: sm.Arn, StateMachineName: sm.Name}
		onEvents = func(events []history.Event) { e.logEvents(ctx, sm, logID, events, nil) }
	}
	res, err := inproc.Run(ctx, inproc.Options{
		OnEvents: onEvents,

		Definition: def, Input: p.Input, StateMachineName: sm.Name, ExecutionName: p.Name, RoleArn: sm.RoleArn,
		Type: asl.Express, Sync: sync, Account: e.o.Account, Region: e.o.Region, Clock: e.o.Clock,
		WaitScale: e.o.WaitScale, ExecutionArn: x.Arn, RunTask: inprocTask(e.o.Runner, x.Arn, traceParent), TestCase: p.TestCase,
	})
	x.StopDate = e.o.Clock.Now().UTC().Truncate(time.Millisecond)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		timeout := sferr.Timeout
		x.Status, x.Error = interp.TimedOut, &timeout
		e.o.Metrics.byMachine.count(sm.Arn, x.StartDate, []history.Event{{Type: "ExecutionTimedOut", Timestamp: x.StopDate}})
	case err != nil:
		return fmt.Errorf("engine: express execution %s: %w", x.Arn, err)
	default:
		x.Status, x.Output, x.Error, x.Cause = res.Status, res.Output, res.Error, res.Cause
		e.o.Metrics.transitions.Add(int64(countTransitions(interp.Result{Events: res.Events})))
		e.observe(id, nil, res.Events)
	}
	e.o.Metrics.finished(string(x.Status))
	return nil
}

// InprocTask adapts a Runner to the in-process runner (package inproc) for one execution: the
// task is carried out as the durable engine carries it out, but waited for in place, as there
// is no outbox to come back to. Express executions, `stepline run` and the conformance tests
// run tasks through it; a nil Runner fails every task. A task that would complete through its
// task token fails too: nothing can send the token's result to an execution run in memory.
func InprocTask(r Runner, executionArn string) func(context.Context, interp.ScheduleTask) interp.Event {
	return inprocTask(r, executionArn, nil)
}

// inprocTask is InprocTask giving each task the traceparent traceParent returns for it, if
// traceParent is not nil.
func inprocTask(r Runner, executionArn string, traceParent func(taskID string) string) func(context.Context, interp.ScheduleTask) interp.Event {
	return func(ctx context.Context, s interp.ScheduleTask) interp.Event {
		t := &Task{
			ExecutionArn: executionArn, TaskID: s.TaskID, StateName: s.StateName, Resource: s.Resource,
			Parameters: jsonv.String(s.Parameters), TimeoutSeconds: s.TimeoutSeconds, HeartbeatSeconds: s.HeartbeatSeconds,
			Token: s.Token, TestCase: s.TestCase, Invocation: s.Invocation,
		}
		if traceParent != nil {
			t.TraceParent = traceParent(s.TaskID)
		}
		var out string
		var err error
		if r == nil {
			err = &TaskError{Name: sferr.TaskFailed, Cause: "no task runner is configured for resource " + t.Resource}
		} else {
			out, err = r.Run(ctx, t)
		}
		if err == nil {
			return interp.TaskSucceeded{TaskID: s.TaskID, Output: out, Submitted: t.submitted}
		}
		var te *TaskError
		switch {
		case errors.As(err, &te):
		case errors.Is(err, ErrCallback):
			te = &TaskError{Name: sferr.TaskFailed, Cause: "the resource " + t.Resource + " completes through a task token, which an execution run in memory cannot receive"}
		default:
			te = &TaskError{Name: sferr.TaskFailed, Cause: err.Error()}
		}
		return interp.TaskFailed{TaskID: s.TaskID, Error: te.Name, Cause: te.Cause, Submitted: t.submitted}
	}
}

// newUUID returns a random version 4 UUID, the last part of an Express execution's ARN.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
