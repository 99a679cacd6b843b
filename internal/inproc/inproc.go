// Package inproc runs one execution to its end inside the calling process, with no store: the
// engine of `stepline run` and of the conformance tests.
//
// Timers are kept in memory in due order. Time is virtual: it jumps to each timer's due time, and
// with a WaitScale above zero the runner also sleeps the scaled real duration first, so a Wait
// of 10 s takes 10 s at scale 1 and no time at scale 0 while histories show the virtual times.
//
// Tasks run concurrently, each on a goroutine of its own, and their results come back in the
// order they complete, as on AWS (a Parallel of two Lambda tasks runs both at once). While a
// task is in flight, time cannot be skipped: the virtual clock runs with real time (divided by
// WaitScale when above zero), so a task's TimeoutSeconds beats a slower task after that long, and
// a quick task is never beaten by a long timeout.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// Options describe one run.
type Options struct {
	Definition *asl.StateMachine
	// Input is the execution input as text; it is echoed verbatim in ExecutionStarted.
	Input string

	StateMachineName string
	ExecutionName    string
	RoleArn          string
	Type             asl.MachineType
	// Sync marks an EXPRESS execution started with StartSyncExecution.
	Sync    bool
	Account string
	Region  string

	// Clock gives the start time and sleeps for scaled waits; nil means the real clock.
	Clock clock.Clock
	// WaitScale multiplies every duration the run waits on; 0 skips waiting.
	WaitScale float64

	// ExecutionArn overrides the standard execution ARN (Express executions have their own).
	ExecutionArn string
	// StartTime, when set, is the execution's start in its context object ($$.Execution.StartTime)
	// instead of the clock's time: a Map Run child started by its parent before it ran here.
	StartTime time.Time
	// RunTask carries out a task and returns its result, a TaskSucceeded or TaskFailed; nil
	// fails every task, for lack of a runner. Calls run concurrently, on goroutines of their
	// own; a task still running when the execution ends is abandoned (its ctx is Run's).
	RunTask func(ctx context.Context, t interp.ScheduleTask) interp.Event
	// TaskClock measures how long tasks in flight take, in real time also when Clock is fake
	// (the conformance runner fixes the start time); nil means the real clock.
	TaskClock clock.Clock
	// TestCase runs the execution under a Step Functions Local mock test case (see
	// interp.Identity.TestCase); RunTask answers its mocked states.
	TestCase *interp.TestCase
	// OnEvents, when set, is given each step's events as the run records them, on Run's
	// goroutine: an Express execution's logs are written as it goes, as AWS writes them.
	OnEvents func(events []history.Event)
}

// Result is how the execution ended.
type Result struct {
	Status interp.Status
	Output *string // JSON text
	Error  *string
	Cause  *string
	Events []history.Event
}

// ErrNoTaskRunner is the cause of a Task that `stepline run` cannot run: task runners for
// Lambda, activities and service integrations live in the server.
var ErrNoTaskRunner = errors.New("no task runner in a one-shot run")

type pendingTimer struct {
	id  string
	due time.Time
	seq int
}

// Run executes the definition to its end.
func Run(ctx context.Context, o Options) (*Result, error) {
	clk := o.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	now := clk.Now().UTC().Truncate(time.Millisecond)
	id := interp.Identity{
		StateMachineArn:  fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", o.Region, o.Account, o.StateMachineName),
		ExecutionArn:     fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", o.Region, o.Account, o.StateMachineName, o.ExecutionName),
		Name:             o.ExecutionName,
		StateMachineName: o.StateMachineName,
		RoleArn:          o.RoleArn,
		Region:           o.Region,
		Account:          o.Account,
		StartTime:        now,
		Sync:             o.Sync,
		Express:          o.Type == asl.Express,
		TestCase:         o.TestCase,
	}
	if o.ExecutionArn != "" {
		id.ExecutionArn = o.ExecutionArn
	}
	if !o.StartTime.IsZero() {
		id.StartTime = o.StartTime
	}
	x, res, err := interp.Start(o.Definition, id, o.Input, now)
	if err != nil {
		return nil, err
	}
	out := &Result{Events: res.Events}
	if o.OnEvents != nil {
		o.OnEvents(res.Events)
	}
	var timers []pendingTimer
	seq := 0
	var inbox []interp.Event
	tasks := &inFlight{ids: map[string]bool{}, results: make(chan taskResult), done: make(chan struct{})}
	defer close(tasks.done)
	apply := func(effects []interp.Effect) {
		for _, e := range effects {
			switch e := e.(type) {
			case interp.StartTimer:
				seq++
				timers = append(timers, pendingTimer{id: e.TimerID, due: e.Due, seq: seq})
			case interp.CancelTimer:
				for i, t := range timers {
					if t.id == e.TimerID {
						timers = append(timers[:i], timers[i+1:]...)
						break
					}
				}
			case interp.ScheduleTask:
				if o.RunTask != nil {
					// Started as it is handed over, so that tasks scheduled together are
					// recorded started together, before any of them completes, as on AWS.
					inbox = append(inbox, interp.TaskStarted{TaskID: e.TaskID})
					tasks.start(ctx, o.RunTask, e)
					continue
				}
				inbox = append(inbox, interp.TaskFailed{
					TaskID: e.TaskID,
					Error:  "States.TaskFailed",
					Cause:  fmt.Sprintf("%v: resource %s (state %q) needs `stepline serve` with a task runner", ErrNoTaskRunner, e.Resource, e.StateName),
				})
			case interp.CancelTask:
				// Its result, if it ever comes, changes nothing; time need not wait for it.
				delete(tasks.ids, e.TaskID)
			}
		}
	}
	taskClock := o.TaskClock
	if taskClock == nil {
		taskClock = clock.Real{}
	}
	apply(res.Effects)
	for x.Status == interp.Running {
		var ev interp.Event
		sortTimers(timers)
		switch {
		case len(inbox) > 0:
			ev, inbox = inbox[0], inbox[1:]
		case len(tasks.ids) > 0:
			var next *pendingTimer
			if len(timers) > 0 {
				next = &timers[0]
			}
			r, at, err := tasks.await(ctx, taskClock, o.WaitScale, now, next)
			if err != nil {
				return nil, fmt.Errorf("run interrupted: %w", err)
			}
			now = at
			if r == nil {
				ev = interp.TimerFired{TimerID: timers[0].id}
				timers = timers[1:]
			} else {
				ev = r
			}
		case len(timers) > 0:
			t := timers[0]
			timers = timers[1:]
			if t.due.After(now) {
				if o.WaitScale > 0 {
					if err := clk.Sleep(ctx, time.Duration(float64(t.due.Sub(now))*o.WaitScale)); err != nil {
						return nil, fmt.Errorf("run interrupted: %w", err)
					}
				}
				now = t.due
			}
			ev = interp.TimerFired{TimerID: t.id}
		default:
			return nil, fmt.Errorf("execution %s is stuck: running with nothing to wait for", id.ExecutionArn)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run interrupted: %w", err)
		}
		res, err := interp.Step(x, ev, now)
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, res.Events...)
		if o.OnEvents != nil && len(res.Events) > 0 {
			o.OnEvents(res.Events)
		}
		apply(res.Effects)
	}
	out.Status, out.Output, out.Error, out.Cause = x.Status, x.Output, x.Error, x.Cause
	return out, nil
}

func sortTimers(timers []pendingTimer) {
	sort.SliceStable(timers, func(i, j int) bool {
		if !timers[i].due.Equal(timers[j].due) {
			return timers[i].due.Before(timers[j].due)
		}
		return timers[i].seq < timers[j].seq
	})
}

// inFlight is the tasks running on their goroutines.
type inFlight struct {
	ids     map[string]bool // the tasks whose results are awaited
	results chan taskResult
	done    chan struct{} // closed when Run returns: results nobody awaits are dropped
}

type taskResult struct {
	id string
	ev interp.Event
}

func (f *inFlight) start(ctx context.Context, run func(context.Context, interp.ScheduleTask) interp.Event, t interp.ScheduleTask) {
	f.ids[t.TaskID] = true
	go func() {
		ev := run(ctx, t)
		select {
		case f.results <- taskResult{id: t.TaskID, ev: ev}:
		case <-f.done:
		}
	}()
}

// await waits for the next result of an awaited task while the virtual clock runs with real
// time from now, until the next timer (if any) is due. It returns the result, or nil when the
// timer came due first, and the virtual time then.
func (f *inFlight) await(ctx context.Context, real clock.Clock, scale float64, now time.Time, next *pendingTimer) (interp.Event, time.Time, error) {
	start := real.Now()
	var due <-chan error
	if next != nil {
		wait := max(next.due.Sub(now), 0)
		if scale > 0 {
			wait = time.Duration(float64(wait) * scale)
		}
		sleepCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := make(chan error, 1)
		go func() { ch <- real.Sleep(sleepCtx, wait) }()
		due = ch
	}
	for {
		select {
		case r := <-f.results:
			if !f.ids[r.id] {
				continue // cancelled (timed out, aborted): dropped
			}
			delete(f.ids, r.id)
			elapsed := real.Now().Sub(start)
			if scale > 0 {
				elapsed = time.Duration(float64(elapsed) / scale)
			}
			at := now.Add(max(elapsed, 0)).Truncate(time.Millisecond)
			if at.Before(now) {
				at = now
			}
			if next != nil && at.After(next.due) {
				at = next.due
			}
			return r.ev, at, nil
		case err := <-due:
			if err != nil {
				return nil, now, err
			}
			if next.due.After(now) {
				return nil, next.due, nil
			}
			return nil, now, nil
		case <-ctx.Done():
			return nil, now, ctx.Err()
		}
	}
}

// JSON returns the result as `stepline run --json` prints it: status, the output value itself
// (not its text), error and cause, absent keys omitted; withHistory adds "events" in
// GetExecutionHistory's shape.
func (r *Result) JSON(withHistory bool) []byte {
	buf := []byte(`{"status":`)
	buf = jsonv.AppendString(buf, string(r.Status))
	if r.Output != nil {
		buf = append(buf, `,"output":`...)
		buf = append(buf, *r.Output...)
	}
	if r.Error != nil {
		buf = append(buf, `,"error":`...)
		buf = jsonv.AppendString(buf, *r.Error)
	}
	if r.Cause != nil {
		buf = append(buf, `,"cause":`...)
		buf = jsonv.AppendString(buf, *r.Cause)
	}
	if withHistory {
		buf = append(buf, `,"events":`...)
		buf = history.AppendEvents(buf, r.Events, true)
	}
	return append(buf, '}')
}
