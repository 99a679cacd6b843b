// Package interp is the pure transition function of Stepline: given a definition, an
// execution's state and one incoming event (start, task result, timer, stop), it advances the
// execution as far as it can go without waiting, and returns the history events it recorded and
// the effects the caller must carry out (schedule a task, start a timer, …).
//
// It does no I/O, starts no goroutines and never reads the clock: time comes in with each call.
// The same code serves `stepline run`, the durable engine, TestState and the conformance tests.
package interp

import (
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

// Status is an execution's status as the API reports it.
type Status string

// The execution statuses.
const (
	Running   Status = "RUNNING"
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	TimedOut  Status = "TIMED_OUT"
	Aborted   Status = "ABORTED"
	// PendingRedrive is the status of a Map Run's child execution that waits to be redriven
	// with its Map Run; executions themselves never have it.
	PendingRedrive Status = "PENDING_REDRIVE"
)

// Identity is what an execution is: its names and ARNs, as the context object and the history
// report them.
type Identity struct {
	ExecutionArn     string
	Name             string
	StateMachineArn  string
	StateMachineName string
	RoleArn          string
	Region           string
	Account          string
	StartTime        time.Time
	RedriveCount     int64
	// StateMachineVersionArn and StateMachineAliasArn name the version (and the alias that
	// chose it) an execution was started through; ExecutionStarted reports them.
	StateMachineVersionArn string
	StateMachineAliasArn   string
	// Sync marks a synchronous Express execution (StartSyncExecution): it cannot be redriven,
	// so its context object has no RedriveCount.
	Sync bool
	// Express marks an Express execution, which AWS holds to ExpressMaxDuration instead of
	// MaxDuration, and not to MaxHistoryEvents. Only Standard executions are stored, so
	// snapshots leave it out.
	Express bool `json:",omitempty"`
	// TestCase is the Step Functions Local mock test case the execution runs under (started
	// as stateMachineArn#TestCase); nil for an ordinary execution. The interpreter only
	// carries it to the tasks it schedules, with each state's invocation count (see
	// ScheduleTask.Invocation): the task runner answers mocked states.
	TestCase *TestCase `json:",omitempty"`
	// TraceParent is the W3C traceparent of the span an execution was started under (a parent
	// execution's task, for a nested execution); "" for one started on its own. The interpreter
	// only keeps it, in snapshots, so that every node tracing the execution finds it.
	TraceParent string `json:",omitempty"`
	// ChildrenAsTasks has the EXPRESS children of the execution's Map Runs run in groups, as
	// tasks of MapChildrenResource, rather than as threads of the execution: a runner with
	// many nodes spreads them over its nodes (see childgroup.go).
	ChildrenAsTasks bool `json:",omitempty"`
}

// TestCase names a test case of a mock configuration file: StateMachine is the name the file
// keys it by (the execution's state machine), Name the test case's.
type TestCase struct {
	StateMachine string
	Name         string
}

// Execution is the state of one execution. Step changes it in place; the caller owns it and
// persists it together with the events and effects Step returns.
type Execution struct {
	Def    *asl.StateMachine
	ID     Identity
	Status Status
	Output *string // JSON text, when Succeeded
	Error  *string
	Cause  *string

	input     jsonv.Value // parsed execution input, for $$.Execution.Input
	inputText string
	// inputKept is set when inputText differs from the compact form of input: then the input's
	// original text is kept wherever the input itself travels unchanged (see jsonv.AppendKeeping).
	inputKept   bool
	nextEventID int64
	nextSeq     int64
	threads     map[int64]*thread
	root        *thread
	tasks       map[string]*thread // open task id → thread
	timers      map[string]timerRef
	rand        uint64   // state of the jitter generator; deterministic per execution
	test        *testRun // set by StartTest
	// redone is set by Redrive for its first burst only (see seedRedrive).
	redone *redriveSeed
	// mapRuns records the Map Runs of distributed Maps, kept after they end (see maprun.go).
	mapRuns []*mapRun
	// invocations counts the tasks scheduled so far by state name, under a mock test case only
	// (see ScheduleTask.Invocation).
	invocations map[string]int64
}

// Input returns the execution input as text, exactly as given.
func (x *Execution) Input() string { return x.inputText }

// Result is what one Step call produced.
type Result struct {
	Events  []history.Event
	Effects []Effect
	// Children are the events recorded in the histories of Map Run child executions.
	Children []ChildHistory
}

// Effect is something the caller must do after committing a Step's result.
type Effect interface{ isEffect() }

// ScheduleTask asks for a task to be run. TaskID is unique within the execution and stays the
// same if the effect is carried out twice (after a crash), so runners can deduplicate.
type ScheduleTask struct {
	TaskID           string
	StateName        string
	Resource         string
	Parameters       jsonv.Value
	TimeoutSeconds   int64  // 0: none
	HeartbeatSeconds int64  // 0: none
	Token            string // the task token for .waitForTaskToken and activities
	// TestCase is the execution's Identity.TestCase. Under one, Invocation counts the earlier
	// invocations of this state's task in the execution, from 0: retries, re-entries and the
	// iterations of a Map all count, as Step Functions Local numbers mocked responses.
	TestCase   *TestCase
	Invocation int64
}

// StartTimer asks for a TimerFired event at Due.
type StartTimer struct {
	TimerID string
	Due     time.Time
	// Quota marks the timer of MaxDuration: a service quota, not a duration the definition
	// waits on, so a runner that scales waits on the wall clock (--wait-scale) leaves it as it
	// is. Runners on virtual time need not tell it apart.
	Quota bool
}

// CancelTimer withdraws a timer that no longer matters.
type CancelTimer struct{ TimerID string }

// CancelTask withdraws a task whose result no longer matters (its state was aborted, or it
// timed out). Token is the task's token, if it had one: it is no longer valid.
type CancelTask struct {
	TaskID string
	Token  string
}

// Finished reports that the execution ended; Execution holds the outcome.
type Finished struct{ Status Status }

func (ScheduleTask) isEffect() {}
func (StartTimer) isEffect()   {}
func (CancelTimer) isEffect()  {}
func (CancelTask) isEffect()   {}
func (Finished) isEffect()     {}

// Event is an input to Step.
type Event interface{ isEvent() }

// TaskStarted reports that a runner picked up the task (activities: a worker took it).
type TaskStarted struct {
	TaskID     string
	WorkerName string
}

// TaskSubmitted reports that a task handed its work off (a nested execution started for
// .sync) with the submission's output, JSON text: AWS records it as TaskSubmitted, between
// TaskStarted and the task's result.
type TaskSubmitted struct {
	TaskID string
	Output string
}

// TaskSucceeded reports a task's result as JSON text. Submitted, when set, is the output of
// a submission not reported on its own (TaskSubmitted), recorded before the result.
type TaskSucceeded struct {
	TaskID    string
	Output    string
	Submitted *string
}

// TaskFailed reports a task's error; Submitted is as in TaskSucceeded.
type TaskFailed struct {
	TaskID    string
	Error     string
	Cause     string
	Submitted *string
}

// TaskHeartbeat reports that a task is alive.
type TaskHeartbeat struct{ TaskID string }

// TimerFired reports that a timer's due time came.
type TimerFired struct{ TimerID string }

// Stop aborts the execution (StopExecution).
type Stop struct {
	Error *string
	Cause *string
	// Child, when set, is the ARN of one of the execution's Map Run child executions to stop
	// instead of the execution.
	Child string
}

func (TaskStarted) isEvent()   {}
func (TaskSucceeded) isEvent() {}
func (TaskSubmitted) isEvent() {}
func (TaskFailed) isEvent()    {}
func (TaskHeartbeat) isEvent() {}
func (TimerFired) isEvent()    {}
func (Stop) isEvent()          {}

// InputError reports execution input that is not valid JSON.
type InputError struct{ Err error }

func (e *InputError) Error() string { return "invalid execution input: " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Start creates an execution and runs it until it waits or ends.
func Start(def *asl.StateMachine, id Identity, input string, now time.Time) (*Execution, Result, error) {
	return start(def, id, input, now, nil)
}

func start(def *asl.StateMachine, id Identity, input string, now time.Time, test *testRun) (*Execution, Result, error) {
	in, err := jsonv.ParseString(input)
	if err != nil {
		return nil, Result{}, &InputError{Err: err}
	}
	x := &Execution{
		Def:       def,
		ID:        id,
		Status:    Running,
		input:     in,
		inputText: input,
		threads:   map[int64]*thread{},
		tasks:     map[string]*thread{},
		timers:    map[string]timerRef{},
		rand:      seedFrom(id.ExecutionArn),
		test:      test,
	}
	switch in.(type) {
	case *jsonv.Object, []jsonv.Value:
		x.inputKept = jsonv.String(in) != input
	}
	r := &run{x: x, now: now}
	r.emit("ExecutionStarted", 0, history.Details{Input: &input, RoleArn: id.RoleArn,
		StateMachineVersionArn: id.StateMachineVersionArn, StateMachineAliasArn: id.StateMachineAliasArn})
	if def.TimeoutSeconds > 0 {
		r.startTimer(timerRef{kind: timerExecution}, now.Add(time.Duration(def.TimeoutSeconds)*time.Second))
	}
	x.root = r.newThread(nil, &def.Machine, in, 0)
	if test != nil && test.opts.Variables != nil {
		x.root.vars = make(map[string]jsonv.Value, test.opts.Variables.Len())
		for _, m := range test.opts.Variables.Members() {
			x.root.vars[m.Key] = m.Value
		}
	}
	r.burst(x.root, def.StartAt, in)
	r.startQuota(now.Add(MaxDuration))
	return x, r.result(), nil
}

// Step applies one event to a running execution. Events for tasks or timers the execution no
// longer waits on (a late result after a timeout, a timer of a finished state) are ignored.
func Step(x *Execution, e Event, now time.Time) (res Result, err error) {
	if x.Status != Running {
		return Result{}, fmt.Errorf("execution %s is %s: %w", x.ID.ExecutionArn, x.Status, ErrNotRunning)
	}
	r := &run{x: x, now: now}
	defer func() {
		x.redone = nil // the points of redriven child executions that started (see resumeChild)
		if r.endAtHistoryLimit(recover()) {
			res, err = r.result(), nil
		}
	}()
	var apply func()
	switch e := e.(type) {
	case TaskStarted:
		apply = func() { r.taskStarted(e) }
	case TaskSubmitted:
		apply = func() { r.taskSubmitted(e) }
	case TaskSucceeded:
		apply = func() {
			if e.Submitted != nil {
				r.taskSubmitted(TaskSubmitted{TaskID: e.TaskID, Output: *e.Submitted})
			}
			r.taskSucceeded(e)
		}
	case TaskFailed:
		apply = func() {
			if e.Submitted != nil {
				r.taskSubmitted(TaskSubmitted{TaskID: e.TaskID, Output: *e.Submitted})
			}
			r.taskFailed(e.TaskID, e.Error, e.Cause, false)
		}
	case TaskHeartbeat:
		apply = func() { r.taskHeartbeat(e) }
	case TimerFired:
		apply = func() { r.timerFired(e.TimerID) }
	case Stop:
		apply = func() { r.stop(e) }
	case UpdateMapRun:
		apply = func() { r.updateMapRun(e) }
	default:
		return Result{}, fmt.Errorf("interp: unknown event %T", e)
	}
	r.guarded(apply)
	r.drain()
	return r.result(), nil
}
