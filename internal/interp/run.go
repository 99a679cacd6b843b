package interp

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

// ErrNotRunning is returned by Step for an execution that already ended.
var ErrNotRunning = errors.New("execution is not running")

// MaxPayload is AWS's limit on a state's input or output, in bytes of JSON text.
const MaxPayload = 256 * 1024

// MaxAssigned is AWS's limit on the variables one Assign sets, in bytes of JSON text.
const MaxAssigned = 256 * 1024

// MaxHistoryEvents is AWS's limit on a Standard execution's history. The event that would be
// the last one allowed is ExecutionFailed (States.Runtime) instead, unless it ends the
// execution anyway (see emit).
const MaxHistoryEvents = 25000

// historyLimitCause is AWS's cause of the ExecutionFailed that ends an execution at
// MaxHistoryEvents.
const historyLimitCause = "The execution reached the maximum number of history events (25000)."

// MaxDuration is AWS's limit on a Standard execution's duration, one year of 365 days, and
// ExpressMaxDuration an Express execution's: an execution still running then times out as if
// its TimeoutSeconds had passed.
const (
	MaxDuration        = 365 * 24 * time.Hour
	ExpressMaxDuration = 5 * time.Minute
)

// quotaTimerID names the MaxDuration timer. A fixed id leaves the sequence that numbers
// timers, tasks and Map Runs as it was without the quota.
const quotaTimerID = "timer-quota"

// thread is one line of control: the execution itself, a Parallel branch or a Map iteration.
type thread struct {
	id      int64
	parent  *thread
	machine *asl.Machine
	// index is the branch or iteration index within the parent's fan-out.
	index int64
	// child is the Map Run child execution the thread runs in, whose own history its events go
	// to; nil for the execution's threads.
	child *childRef
	// isolated marks a distributed Map's child, which sees none of its parent's variables.
	isolated bool
	// vars holds the variables this thread assigned; it reads its parent's too (see
	// scope.Variable), but assigns only its own.
	vars map[string]jsonv.Value

	prev int64 // id of the last event this thread recorded: the next event's previousEventId

	state       *asl.State
	input       jsonv.Value // the current state's raw input
	effective   jsonv.Value // after InputPath and Parameters
	entered     int64       // id of the current state's StateEntered event
	enteredPrev int64       // the previousEventId of that event
	enteredTime time.Time
	// assigned holds the variables the current state assigns, evaluated but not yet visible:
	// every expression of a state reads the variables as they were when it was entered.
	assigned   *jsonv.Object
	attempts   []int64 // per retrier
	retryCount int64

	// next is the pending transition, taken by advance.
	next      string
	nextInput jsonv.Value

	// lastValue and lastText cache the JSON text of the value last written to history by this
	// thread: a state's output is the next state's input, and encoding it once is enough.
	lastValue jsonv.Value
	lastText  *string

	waiting waitKind
	taskID  string
	task    *taskInfo
	timerID string
	// childTimer is the timer of an EXPRESS child execution's five minutes.
	childTimer string
	// childInput is the input of the Map Run child execution the thread is the top of (its
	// context object's $$.Execution.Input), when hasChildInput: null is a valid input.
	childInput    jsonv.Value
	hasChildInput bool

	fan *fanOut

	sc scope

	done bool
}

type waitKind uint8

const (
	notWaiting waitKind = iota
	waitTask
	waitTimer
	waitRetry
	waitChildren
)

type taskInfo struct {
	kind       resourceKind
	resource   string
	resType    string
	action     string
	started    bool
	submitted  bool // TaskSubmitted recorded
	timeout    int64
	heartbeat  int64
	hbTimerID  string
	toTimerID  string
	parameters jsonv.Value
	// scheduled is when the task was scheduled (its …Scheduled event), for tracing.
	scheduled time.Time
}

type fanOut struct {
	parallel  bool
	items     []jsonv.Value
	results   []jsonv.Value
	nextIndex int
	running   int
	completed int
	failed    int64
	maxConc   int
	tolCount  float64 // -1: none
	tolPct    float64 // -1: none
	children  map[int64]*thread
	lastEvent int64
	mapRunArn string
	run       *mapRun // a distributed Map's record; nil for inline Maps and Parallels
	// reader and writer are a distributed Map's ItemReader and ResultWriter (reader.go), and
	// ioTask the task of theirs in flight, of kind ioKind.
	reader *itemSource
	writer *resultSink
	ioTask string
	ioKind ioKind
	// failing is the failure of a distributed Map whose ResultWriter writes its results before
	// the Map fails with it, as AWS writes a failed Map Run's (see failWithResults).
	failing *failure
	// groups holds, by task id, the item indexes of the groups of children running as tasks
	// of their own (childgroup.go).
	groups map[string][]int
}

type timerKind uint8

const (
	timerExecution timerKind = iota
	timerWait
	timerRetry
	timerTaskTimeout
	timerHeartbeat
	timerChild
	timerMoreChildren
)

type timerRef struct {
	kind   timerKind
	thread int64
}

type run struct {
	x       *Execution
	now     time.Time
	events  []history.Event
	effects []Effect
	// queue holds work that must wait until the current call stack unwinds: children to start
	// and children that finished, so that parents never advance re-entrantly.
	queue []func()
	buf   []byte // reused for encoding
	// bindings is reused by the JSONata evaluations of the step (see asl.Scratch).
	bindings map[string]jsonv.Value
	// childStarts counts the Map Run child executions the step started (see
	// MaxChildStartsPerStep).
	childStarts int
	// holdStarts is the fan-out whose group's outcomes are being recorded: it starts more
	// children once they all are, not one group per outcome.
	holdStarts *fanOut
	// transitions counts the states an Express execution entered in the step, and
	// childTransitions those of each EXPRESS child (see ExpressBurstLimit).
	transitions      int
	childTransitions map[childRef]int
	// children holds the events of Map Run child executions, by child (see emitIn).
	children   []ChildHistory
	childIndex map[childRef]int
	// sinks are the Map threads whose ResultWriter gathered records in the step (see
	// flushSinks).
	sinks []*thread
}

func (r *run) result() Result {
	r.flushSinks()
	return Result{Events: r.events, Effects: r.effects, Children: r.children}
}

// emitOn records an event of th, in the history th's events go to, after th's last one.
func (r *run) emitOn(th *thread, typ string, d history.Details) int64 {
	if th == nil {
		return r.emit(typ, 0, d)
	}
	th.prev = r.emitIn(th.child, typ, th.prev, d)
	return th.prev
}

func (r *run) emit(typ string, prev int64, d history.Details) int64 {
	// The execution's end (finish sets the status first) may be the last event allowed; any
	// other event there unwinds the burst to endAtHistoryLimit.
	if r.x.nextEventID == MaxHistoryEvents-1 && r.x.Status == Running && !r.x.ID.Express && r.x.test == nil {
		panic(historyFull{})
	}
	r.x.nextEventID++
	id := r.x.nextEventID
	r.events = append(r.events, history.Event{ID: id, PreviousEventID: prev, Timestamp: r.now, Type: typ, Details: d})
	return id
}

func (r *run) seq() string {
	r.x.nextSeq++
	return strconv.FormatInt(r.x.nextSeq, 10)
}

func (r *run) newThread(parent *thread, m *asl.Machine, input jsonv.Value, index int64) *thread {
	r.x.nextSeq++
	th := &thread{id: r.x.nextSeq, parent: parent, machine: m, index: index, nextInput: input}
	if parent != nil {
		th.prev = parent.prev
		th.child = parent.child
	}
	r.x.threads[th.id] = th
	return th
}

func (r *run) startTimer(ref timerRef, due time.Time) string {
	id := "timer-" + r.seq()
	r.x.timers[id] = ref
	r.effects = append(r.effects, StartTimer{TimerID: id, Due: due})
	return id
}

func (r *run) cancelTimer(id string) {
	if id == "" {
		return
	}
	if _, ok := r.x.timers[id]; ok {
		delete(r.x.timers, id)
		r.effects = append(r.effects, CancelTimer{TimerID: id})
	}
}

// ExpressBurstLimit bounds the states an Express execution, or an EXPRESS Map Run child, enters
// in one step without waiting. AWS bounds these only by their five minutes, which a loop of Pass
// and Choice states that never waits would spend here in one step of no time, holding the step
// (and its history, kept in memory) forever; at AWS's pace it could not make many more
// transitions in five minutes. Past the bound it times out, as on AWS.
const ExpressBurstLimit = 100_000

// expressOutOfTime is the panic that unwinds an Express execution's burst at ExpressBurstLimit.
type expressOutOfTime struct{}

// countTransition counts a state that th enters, and stops an Express execution or EXPRESS child
// at ExpressBurstLimit. Standard ones need no such bound: their histories stop them.
func (r *run) countTransition(th *thread) {
	switch c := th.child; {
	case c != nil && c.run.executionType == "EXPRESS":
		if r.childTransitions == nil {
			r.childTransitions = map[childRef]int{}
		}
		if r.childTransitions[*c]++; r.childTransitions[*c] > ExpressBurstLimit {
			panic(childOutOfTime{*c})
		}
	case c == nil && r.x.ID.Express && r.x.test == nil:
		if r.transitions++; r.transitions > ExpressBurstLimit {
			panic(expressOutOfTime{})
		}
	}
}

// historyFull is the panic that unwinds a burst at MaxHistoryEvents: the limit can strike deep
// inside a state's work, and nothing of that work may follow the execution's last event.
type historyFull struct{}

// burst enters state name on th and runs the execution until it waits or ends.
func (r *run) burst(th *thread, name string, input jsonv.Value) {
	defer func() { r.endAtHistoryLimit(recover()) }()
	r.enter(th, name, input)
	r.drain()
}

// endAtHistoryLimit, given what recover returned in a call that runs a burst, fails the
// execution whose history reached MaxHistoryEvents, as AWS does, and reports whether it did.
// Other panics go on. The events and effects of the burst so far stand: finish cancels the
// timers and tasks they started.
func (r *run) endAtHistoryLimit(p any) bool {
	if p == nil {
		return false
	}
	if _, ok := p.(expressOutOfTime); ok {
		r.queue = nil
		r.finish(TimedOut, "ExecutionTimedOut", history.Details{Error: ptr(sferr.Timeout)}, r.x.nextEventID)
		return true
	}
	if _, ok := p.(historyFull); !ok {
		panic(p)
	}
	r.queue = nil
	name, cause := sferr.Runtime, historyLimitCause
	r.x.Error, r.x.Cause = &name, &cause
	r.finish(Failed, "ExecutionFailed", history.Details{Error: &name, Cause: &cause}, r.x.nextEventID)
	return true
}

// startQuota starts the MaxDuration timer, due at due (ExpressMaxDuration after r.now for an
// Express execution), for an execution still running after its first burst, unless its
// TimeoutSeconds timer (started at r.now) ends it first. Starting it only then spares the
// executions that end at once, such as Pass chains, a timer.
func (r *run) startQuota(due time.Time) {
	x := r.x
	if x.Status != Running || x.test != nil {
		return
	}
	if x.ID.Express {
		due = r.now.Add(ExpressMaxDuration)
	}
	if t := x.Def.TimeoutSeconds; t > 0 && !r.now.Add(time.Duration(t)*time.Second).After(due) {
		return
	}
	x.timers[quotaTimerID] = timerRef{kind: timerExecution}
	r.effects = append(r.effects, StartTimer{TimerID: quotaTimerID, Due: due, Quota: true})
}

// drain runs queued work until none is left or the execution ended.
func (r *run) drain() {
	for len(r.queue) > 0 && r.x.Status == Running {
		f := r.queue[0]
		r.queue = r.queue[1:]
		r.guarded(f)
	}
	if r.x.Status != Running {
		r.queue = nil
	}
}

// enter schedules a transition into state name and runs the thread.
func (r *run) enter(th *thread, name string, input jsonv.Value) {
	th.next = name
	th.nextInput = input
	r.advance(th)
}

// advance runs th's pending transitions until it waits, ends, or the execution ends. It loops
// rather than recursing so that long chains and loops use constant stack.
func (r *run) advance(th *thread) {
	for th.next != "" && r.x.Status == Running && !th.done {
		r.countTransition(th)
		name, input := th.next, th.nextInput
		th.next, th.nextInput = "", nil
		st := th.machine.States[name]
		th.state = st
		th.input = input
		th.effective = nil
		th.attempts = nil
		th.retryCount = 0
		th.enteredTime = r.now
		in := r.textOn(th, input)
		th.enteredPrev = th.prev
		th.entered = r.emitOn(th, st.Type.String()+"StateEntered", history.Details{Name: st.Name, Input: in})
		r.execute(th)
	}
}

// execute runs the current state from its start (also after a retry).
func (r *run) execute(th *thread) {
	st := th.state
	th.assigned = nil
	th.effective = th.input
	if st.QueryLanguage == asl.JSONPath {
		eff, err := r.inputPath(st, r.scope(th, th.input))
		if err != nil {
			r.fail(th, err)
			return
		}
		th.effective = eff
		if !(st.Type == asl.Pass && st.HasResult) && st.Type != asl.Parallel {
			r.inspect(th, "afterInputPath", eff)
		}
	}
	switch st.Type {
	case asl.Pass:
		r.execPass(th)
	case asl.Choice:
		r.execChoice(th)
	case asl.Wait:
		r.execWait(th)
	case asl.Succeed:
		r.complete(th, th.effective, st.Assign, st.Output, "")
	case asl.Fail:
		r.execFail(th)
	case asl.Task:
		r.execTask(th)
	case asl.Parallel:
		if !r.mocked(th) {
			r.execParallel(th)
		}
	case asl.Map:
		r.execMap(th)
	}
}

func (r *run) inputPath(st *asl.State, sc *scope) (jsonv.Value, error) {
	switch {
	case st.InputPath.Null:
		return jsonv.NewObject(0), nil
	case st.InputPath.Path == nil:
		return sc.input, nil
	}
	v, err := st.InputPath.Path.Eval(sc)
	if err != nil {
		return nil, pathError(err)
	}
	return v, nil
}

// parameters applies Parameters (or Arguments) to the effective input.
func (r *run) parameters(th *thread) (jsonv.Value, error) {
	if th.state.Parameters == nil {
		return th.effective, nil
	}
	return r.eval(th, th.state.Parameters, r.scope(th, th.effective))
}

// eval evaluates e for the current state in sc. A JSONata expression builds its result anew,
// which AWS writes compactly even where it holds the execution input, whose original text it
// otherwise keeps (see jsonv.AppendKeeping): such results get copies of the input here.
func (r *run) eval(th *thread, e asl.Expr, sc *scope) (jsonv.Value, error) {
	v, err := e.Eval(sc)
	if err != nil || !r.x.inputKept || th.state.QueryLanguage != asl.JSONata {
		return v, err
	}
	return r.fresh(v), nil
}

// evalAssign evaluates an Assign field for the current state in sc, keeping the variables for
// leave; each value is written on its own, so each is freshened (see eval).
func (r *run) evalAssign(th *thread, assign asl.Expr, sc *scope) error {
	v, err := assign.Eval(sc)
	if err != nil {
		return err
	}
	o, _ := v.(*jsonv.Object)
	if r.x.inputKept && th.state.QueryLanguage == asl.JSONata {
		members := o.Members()
		o = jsonv.NewObject(len(members))
		for _, m := range members {
			o.Set(m.Key, r.fresh(m.Value))
		}
	}
	th.assigned = o
	return nil
}

// fresh returns v with copies of the execution input where AppendKeeping would find it.
func (r *run) fresh(v jsonv.Value) jsonv.Value {
	f, _ := r.freshened(v)
	return f
}

// freshened is fresh, reporting whether it copied anything.
func (r *run) freshened(v jsonv.Value) (jsonv.Value, bool) {
	if jsonv.Same(v, r.x.input) {
		switch in := v.(type) {
		case *jsonv.Object:
			return jsonv.ObjectOf(in.Members()...), true
		case []jsonv.Value:
			return slices.Clone(in), true
		}
	}
	a, ok := v.([]jsonv.Value)
	if !ok {
		return v, false
	}
	var out []jsonv.Value
	for i, e := range a {
		if f, changed := r.freshened(e); changed {
			if out == nil {
				out = slices.Clone(a)
			}
			out[i] = f
		}
	}
	if out == nil {
		return v, false
	}
	return out, true
}

func (r *run) execPass(th *thread) {
	st := th.state
	res, err := r.parameters(th)
	if err != nil {
		r.fail(th, err)
		return
	}
	if st.HasResult {
		res = st.Result
		r.inspect(th, "result", res)
	} else if st.QueryLanguage == asl.JSONPath {
		r.inspect(th, "afterParameters", res)
	}
	r.complete(th, res, st.Assign, st.Output, st.Next)
}

func (r *run) execFail(th *thread) {
	st := th.state
	sc := r.scope(th, th.effective)
	var errText, causeText *string
	if st.Fail.Error != nil {
		v, err := st.Fail.Error.Eval(sc)
		if err != nil {
			r.fail(th, err)
			return
		}
		errText = ptr(stringOrJSON(v))
	}
	if st.Fail.Cause != nil {
		v, err := st.Fail.Cause.Eval(sc)
		if err != nil {
			r.fail(th, err)
			return
		}
		causeText = ptr(stringOrJSON(v))
	}
	r.threadFailed(th, failure{name: errText, cause: causeText})
}

func stringOrJSON(v jsonv.Value) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonv.String(v)
}

// hasResult reports whether a state's work produces a result of its own ($states.result):
// others pass their input on.
func hasResult(t asl.StateType) bool {
	return t == asl.Task || t == asl.Parallel || t == asl.Map
}

// complete ends the current state's work with result and leaves the state for next (the thread
// ends when next is empty). It evaluates assign, which becomes visible once the state is left,
// and the output: for JSONPath ResultSelector, ResultPath and OutputPath, for JSONata output
// (by default the result of a Task, Parallel or Map and the input of other states). A Choice
// passes the assign and output of the rule it took.
func (r *run) complete(th *thread, result jsonv.Value, assign, output asl.Expr, next string) {
	st := th.state
	var out jsonv.Value
	if st.QueryLanguage == asl.JSONata {
		sc := r.scope(th, th.input)
		if hasResult(st.Type) {
			sc.result, sc.hasResult = result, true
		}
		if !r.assign(th, assign, sc) {
			return
		}
		out = th.input
		if hasResult(st.Type) {
			out = result
		}
		if output != nil {
			v, err := r.eval(th, output, sc)
			if err != nil {
				r.fail(th, err)
				return
			}
			out = v
		}
		r.leave(th, out, next)
		return
	}
	if st.ResultSelector != nil {
		v, err := st.ResultSelector.Eval(r.scope(th, result))
		if err != nil {
			r.fail(th, err)
			return
		}
		result = v
	}
	if !r.assign(th, assign, r.scope(th, result)) {
		return
	}
	out, err := applyResultPath(st.ResultPath, th.input, result)
	if err != nil {
		r.fail(th, err)
		return
	}
	if hasResult(st.Type) || st.Type == asl.Pass {
		r.inspect(th, "afterResultSelector", result)
		r.inspect(th, "afterResultPath", out)
	}
	switch {
	case st.OutputPath.Null:
		out = jsonv.NewObject(0)
	case st.OutputPath.Path != nil:
		v, err := st.OutputPath.Path.Eval(r.scope(th, out))
		if err != nil {
			// Neither Retry nor Catch sees it: AWS fails the execution even with a catcher
			// naming States.Runtime (its recording base_scenarios__catch_states_runtime).
			r.threadFailed(th, r.failureOf(th, pathError(err)))
			return
		}
		out = v
	}
	r.leave(th, out, next)
}

// assign evaluates an Assign field in sc and keeps the variables for leave; on failure it fails
// the state and returns false.
func (r *run) assign(th *thread, assign asl.Expr, sc *scope) bool {
	if assign == nil {
		return true
	}
	if err := r.evalAssign(th, assign, sc); err != nil {
		r.fail(th, err)
		return false
	}
	return true
}

// leave records StateExited with output and the variables the state assigned, which become
// visible from here on, and moves on to next (or ends the thread).
func (r *run) leave(th *thread, out jsonv.Value, next string) {
	st := th.state
	outText := r.textOn(th, out)
	if len(*outText) > MaxPayload {
		th.assigned = nil
		r.stateFailed(th, dataLimit(st.Name))
		return
	}
	d := history.Details{Name: st.Name, Output: outText}
	if a := th.assigned; a != nil {
		th.assigned = nil
		size := 0
		for _, m := range a.Members() {
			text := *r.text(m.Value)
			size += len(text)
			d.AssignedVariables = append(d.AssignedVariables, history.Assigned{Name: m.Key, Value: text})
		}
		if size > MaxAssigned {
			r.stateFailed(th, failure{name: ptr(sferr.DataLimitExceeded),
				cause: ptr("The state/task '" + st.Name + "' assigned variables with a size exceeding the maximum number of bytes service limit.")})
			return
		}
		if th.vars == nil {
			th.vars = make(map[string]jsonv.Value, a.Len())
		}
		for _, m := range a.Members() {
			th.vars[m.Key] = m.Value
		}
	}
	r.emitOn(th, st.Type.String()+"StateExited", d)
	if t := r.tested(th); t != nil {
		t.rec.NextState, t.rec.Output = next, outText
		next = ""
	}
	if next == "" {
		r.threadSucceeded(th, out)
		return
	}
	th.next = next
	th.nextInput = out
}

// dataLimit is AWS's error for a state result over MaxPayload; unlike other runtime errors its
// cause has no "An error occurred while executing the state" prefix.
func dataLimit(state string) failure {
	return failure{name: ptr(sferr.DataLimitExceeded),
		cause: ptr("The state/task '" + state + "' returned a result with a size exceeding the maximum number of bytes service limit.")}
}

// textOn is text with th's one-value cache.
func (r *run) textOn(th *thread, v jsonv.Value) *string {
	if th.lastText != nil && jsonv.Same(v, th.lastValue) {
		return th.lastText
	}
	t := r.text(v)
	th.lastValue, th.lastText = v, t
	return t
}

// text returns the JSON text of v as AWS records it in history and outputs.
func (r *run) text(v jsonv.Value) *string {
	if r.x.inputKept {
		r.buf = jsonv.AppendKeeping(r.buf[:0], v, r.x.input, r.x.inputText)
	} else {
		r.buf = jsonv.Append(r.buf[:0], v)
	}
	s := string(r.buf)
	return &s
}

// failure is an error on its way up: a name and cause, each possibly absent (a Fail state
// without Error).
type failure struct {
	name  *string
	cause *string
	// task is set for a failure a task reported, which States.ALL catches whatever its name:
	// AWS catches a task result over the payload limit (States.DataLimitExceeded, recorded as the
	// task's failure) with States.ALL, while the same error raised by the state itself is terminal.
	task bool
	// emptyCause gives a failure without a cause an empty Cause in its error output: a time-out
	// of an optimised integration is recorded without a cause, but AWS's recording of one caught
	// (task_service_lambda__invoke_timeout) shows "Cause": "".
	emptyCause bool
}

func (f failure) Name() string {
	if f.name == nil {
		return ""
	}
	return *f.name
}

func (f failure) Cause() string {
	if f.cause == nil {
		return ""
	}
	return *f.cause
}

func toFailure(err error) failure {
	var se *sferr.Error
	if !errors.As(err, &se) {
		se = &sferr.Error{Name: sferr.Runtime, Cause: err.Error()}
	}
	f := failure{name: &se.Name}
	if se.Cause != "" {
		c := se.Cause
		f.cause = &c
	}
	return f
}

// fail handles an error raised while running the current state: Retry and Catch decide.
func (r *run) fail(th *thread, err error) {
	r.stateFailed(th, r.failureOf(th, err))
}

// failureOf phrases an error of the current state as AWS reports it, with the "An error occurred
// while executing the state" prefix, and records a JSONata evaluation error in an
// EvaluationFailed event first.
func (r *run) failureOf(th *thread, err error) failure {
	f := toFailure(err)
	c := "An error occurred while executing the state '" + th.state.Name + "' (entered at the event id #" +
		strconv.FormatInt(th.entered, 10) + "). " + f.Cause()
	f.cause = &c
	var ee *asl.EvaluationError
	if errors.As(err, &ee) {
		prev := th.enteredPrev
		if ee.Refused {
			prev = th.entered
		}
		th.prev = r.emitIn(th.child, "EvaluationFailed", prev, history.Details{Error: f.name, Cause: f.cause, Location: ee.Location, State: th.state.Name})
	}
	return f
}

// stateFailed applies the current state's Retry and Catch to f; without a match the thread
// fails. A caught error sets the thread's next transition: callers outside advance's loop must
// call advance afterwards.
func (r *run) stateFailed(th *thread, f failure) {
	r.stateFailedAfter(th, f, false)
}

// stateFailedAfter is stateFailed for a Parallel or Map whose work had started (fanned is
// set): unless a retrier takes the error, AWS records the state's …StateFailed event first.
func (r *run) stateFailedAfter(th *thread, f failure, fanned bool) {
	st := th.state
	th.assigned = nil
	for i := range st.Retry {
		rt := &st.Retry[i]
		if !matches(rt.ErrorEquals, f) {
			continue
		}
		t := r.tested(th)
		if th.attempts == nil {
			th.attempts = make([]int64, len(st.Retry))
			if t != nil {
				for j := range th.attempts {
					th.attempts[j] = t.opts.RetrierRetryCount
				}
			}
		}
		if th.attempts[i] >= rt.MaxAttempts {
			if t != nil {
				t.rec.RetryIndex = &i
			}
			break
		}
		delay := r.retryDelay(rt, th.attempts[i])
		if t != nil {
			t.rec.Status, t.rec.RetryIndex, t.rec.RetryBackoff = TestRetriable, &i, delay
			r.threadFailed(th, f)
			return
		}
		th.attempts[i]++
		th.retryCount++
		th.waiting = waitRetry
		th.timerID = r.startTimer(timerRef{kind: timerRetry, thread: th.id}, r.now.Add(delay))
		return
	}
	if fanned {
		r.emitOn(th, st.Type.String()+"StateFailed", history.Details{})
	}
	for i := range st.Catch {
		c := &st.Catch[i]
		if matches(c.ErrorEquals, f) {
			if t := r.tested(th); t != nil {
				t.rec.Status, t.rec.CatchIndex, t.rec.Error, t.rec.Cause = TestCaughtError, &i, f.name, f.cause
			}
			r.caught(th, c, f)
			return
		}
	}
	r.threadFailed(th, f)
}

// caught leaves the current state through catcher c with the error output {Error, Cause}: its
// ResultPath places it in the input (JSONPath), or its Output shapes it (JSONata); its Assign
// replaces the state's.
func (r *run) caught(th *thread, c *asl.Catcher, f failure) {
	st := th.state
	errObj := jsonv.ObjectOf(jsonv.Member{Key: "Error", Value: f.Name()})
	switch {
	case f.cause != nil:
		errObj.Set("Cause", *f.cause)
	case f.emptyCause:
		errObj.Set("Cause", "")
	}
	var sc *scope
	if st.QueryLanguage == asl.JSONata {
		sc = r.scope(th, th.input)
		sc.errorOutput, sc.hasErrorOutput = errObj, true
	} else {
		sc = r.scope(th, errObj)
	}
	out := jsonv.Value(errObj)
	var err error
	if c.Assign != nil {
		err = r.evalAssign(th, c.Assign, sc)
	}
	switch {
	case err != nil:
	case st.QueryLanguage == asl.JSONPath:
		out, err = applyResultPath(c.ResultPath, th.input, errObj)
	case c.Output != nil:
		out, err = r.eval(th, c.Output, sc)
	}
	if err != nil {
		th.assigned = nil
		var ee *asl.EvaluationError
		if errors.As(err, &ee) {
			r.threadFailed(th, r.failureOf(th, err))
			return
		}
		r.threadFailed(th, toFailure(err))
		return
	}
	r.leave(th, out, c.Next)
}

// matches implements ErrorEquals: exact names, and States.ALL for everything but
// States.DataLimitExceeded and States.Runtime raised by the state itself, which only an explicit
// name catches.
func matches(names []string, f failure) bool {
	err := f.Name()
	for _, n := range names {
		if n == err {
			return true
		}
		if n == sferr.ALL && (f.task || err != sferr.DataLimitExceeded && err != sferr.Runtime) {
			return true
		}
		if n == sferr.TaskFailed && err != sferr.Timeout && err != sferr.Runtime && err != sferr.DataLimitExceeded &&
			err != sferr.HeartbeatTimeout && !isStatesError(err) {
			return true
		}
	}
	return false
}

func isStatesError(name string) bool { return len(name) > 7 && name[:7] == "States." }

func (r *run) retryDelay(rt *asl.Retrier, attempt int64) time.Duration {
	secs := float64(rt.IntervalSeconds)
	for range attempt {
		secs *= rt.BackoffRate
	}
	if rt.MaxDelaySeconds > 0 && secs > float64(rt.MaxDelaySeconds) {
		secs = float64(rt.MaxDelaySeconds)
	}
	if rt.JitterFull {
		secs *= r.random()
	}
	return time.Duration(secs * float64(time.Second))
}

// random returns a deterministic number in [0, 1) from the execution's generator, so that
// replaying an execution gives the same retry delays.
func (r *run) random() float64 {
	return float64(r.next()>>11) / (1 << 53)
}

// next advances the execution's generator (splitmix64), the source of everything random in an
// execution: retry jitter, UUIDs, random numbers.
func (r *run) next() uint64 {
	r.x.rand += 0x9e3779b97f4a7c15
	z := r.x.rand
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ z>>31
}

func seedFrom(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// threadSucceeded ends a thread with its output and tells its parent.
func (r *run) threadSucceeded(th *thread, out jsonv.Value) {
	th.done = true
	delete(r.x.threads, th.id)
	if th.parent == nil {
		r.x.Output = r.text(out)
		r.finish(Succeeded, "ExecutionSucceeded", history.Details{Output: r.x.Output}, th.prev)
		return
	}
	p := th.parent
	r.queue = append(r.queue, func() { r.childSucceeded(p, th, out) })
}

// threadFailed ends a thread with an error and tells its parent.
func (r *run) threadFailed(th *thread, f failure) {
	th.done = true
	delete(r.x.threads, th.id)
	if th.parent == nil {
		r.x.Error, r.x.Cause = f.name, f.cause
		r.finish(Failed, "ExecutionFailed", history.Details{Error: f.name, Cause: f.cause}, th.prev)
		return
	}
	p := th.parent
	r.queue = append(r.queue, func() { r.childFailed(p, th, f) })
}

func (r *run) finish(st Status, typ string, d history.Details, prev int64) {
	r.x.Status = st
	r.emit(typ, prev, d)
	for id := range r.x.timers {
		r.effects = append(r.effects, CancelTimer{TimerID: id})
	}
	for id := range r.x.tasks {
		r.effects = append(r.effects, CancelTask{TaskID: id})
	}
	clear(r.x.timers)
	clear(r.x.tasks)
	clear(r.x.threads)
	r.abortMapRuns()
	r.effects = append(r.effects, Finished{Status: st})
}

func (r *run) timerFired(id string) {
	ref, ok := r.x.timers[id]
	if !ok {
		return
	}
	delete(r.x.timers, id)
	if ref.kind == timerExecution {
		r.finish(TimedOut, "ExecutionTimedOut", history.Details{Error: ptr(sferr.Timeout)}, r.x.nextEventID)
		return
	}
	th := r.x.threads[ref.thread]
	if th == nil || th.done {
		return
	}
	switch ref.kind {
	case timerWait:
		if th.timerID != id {
			return
		}
		th.timerID = ""
		th.waiting = notWaiting
		r.complete(th, th.effective, th.state.Assign, th.state.Output, th.state.Next)
		r.advance(th)
	case timerRetry:
		if th.timerID != id {
			return
		}
		th.timerID = ""
		th.waiting = notWaiting
		r.execute(th)
		r.advance(th)
	case timerChild:
		r.childTimedOut(th)
	case timerMoreChildren:
		if th.timerID == id && th.fan != nil {
			th.timerID = ""
			r.startIterations(th, th.prev)
		}
	case timerTaskTimeout, timerHeartbeat:
		if th.task == nil {
			return
		}
		name := sferr.Timeout
		if ref.kind == timerHeartbeat {
			name = sferr.HeartbeatTimeout
		}
		r.taskFailed(th.taskID, name, "", true)
	}
}

func (r *run) stop(e Stop) {
	if e.Child != "" {
		r.stopChild(e)
		return
	}
	// DescribeExecution reports the error and cause given to StopExecution.
	r.x.Error, r.x.Cause = e.Error, e.Cause
	// AWS links the abort to no earlier event (previousEventId 0): it comes from the StopExecution
	// call, not from the state that was running.
	r.finish(Aborted, "ExecutionAborted", history.Details{Error: e.Error, Cause: e.Cause}, 0)
}

func ptr[T any](v T) *T { return &v }

func applyResultPath(rp asl.OptPath, input, result jsonv.Value) (jsonv.Value, error) {
	switch {
	case rp.Null:
		return input, nil
	case rp.Path == nil:
		return result, nil
	}
	v, err := rp.Path.Set(input, result)
	if err != nil {
		var se *sferr.Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, sferr.New(sferr.ResultPathMatchFailure,
			"Unable to apply ResultPath \"%s\" to input \"%s\"", rp.Path.String(), jsonv.String(input))
	}
	return v, nil
}

// pathError turns a path lookup failure into AWS's States.Runtime error; the path package words
// its misses as AWS quotes them ("Invalid path '$.a' : No results for path: $['a']").
func pathError(err error) error {
	var se *sferr.Error
	if errors.As(err, &se) {
		return err
	}
	return &sferr.Error{Name: sferr.Runtime, Cause: err.Error()}
}
