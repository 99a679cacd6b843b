package interp

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

// ErrNotRedrivable is wrapped by Redrive when the execution cannot be redriven.
var ErrNotRedrivable = errors.New("execution is not redrivable")

// MaxRedrives is AWS's limit on the redrives of one execution.
const MaxRedrives = 1000

// redriveEvent is what Redrive reads of a history event in GetExecutionHistory's JSON.
type redriveEvent struct {
	ID      int64  `json:"id"`
	Prev    int64  `json:"previousEventId"`
	Type    string `json:"type"`
	Entered *struct {
		Name  string  `json:"name"`
		Input *string `json:"input"`
	} `json:"stateEnteredEventDetails"`
	Exited *struct {
		Name     string            `json:"name"`
		Output   *string           `json:"output"`
		Assigned map[string]string `json:"assignedVariables"`
	} `json:"stateExitedEventDetails"`
	IterStarted   *iterationDetails `json:"mapIterationStartedEventDetails"`
	IterSucceeded *iterationDetails `json:"mapIterationSucceededEventDetails"`
	IterFailed    *iterationDetails `json:"mapIterationFailedEventDetails"`
	IterAborted   *iterationDetails `json:"mapIterationAbortedEventDetails"`
	MapRunStarted *mapRunDetails    `json:"mapRunStartedEventDetails"`
	MapRunAgain   *mapRunDetails    `json:"mapRunRedrivenEventDetails"`
}

type mapRunDetails struct {
	MapRunArn string `json:"mapRunArn"`
}

type iterationDetails struct {
	Index int `json:"index"`
}

// redrivePoint is where a thread (the execution's top level, a Parallel branch, a Map
// iteration) resumes: the state it was in when the execution ended, that state's input and the
// variables the thread had assigned. When that state is a Parallel or Map, outputs holds what
// the branches or iterations that succeeded returned, which do not run again, and children
// where each of the others resumes, recursively: AWS redrives only what failed, at every level.
type redrivePoint struct {
	state    string
	input    jsonv.Value
	vars     map[string]jsonv.Value
	outputs  map[int]jsonv.Value
	children map[int]*redrivePoint
	// resumed is set when the point's state was the first its thread entered in a redrive:
	// the same state failing again, whose children's outcomes add up over the redrives.
	resumed bool
	// mapRunArn is the Map Run a distributed Map state had last (MapRunStarted or
	// MapRunRedriven), which the redrive redrives; empty when it started none.
	mapRunArn string
}

// redriveSeed carries the redrive points through the redrive's first burst: at holds the point
// of each thread whose Parallel or Map state is yet to start, pending the points of the
// children of each that started.
type redriveSeed struct {
	at      map[*thread]*redrivePoint
	pending map[*thread]map[int]*redrivePoint
	// children holds, by ARN, where the unsuccessful child executions of the Map Runs the
	// redrive redrives resume (see childPoints).
	children map[string]*redrivePoint
}

func newRedriveSeed() *redriveSeed {
	return &redriveSeed{at: map[*thread]*redrivePoint{}, pending: map[*thread]map[int]*redrivePoint{}}
}

// seedRedrive gives a Parallel or Map that a redrive re-enters the outputs its branches or
// iterations had, once (a loop back into the state runs it afresh). An output of JSON null
// cannot be told from "not run", so such a branch runs again.
func (r *run) seedRedrive(th *thread) {
	p := r.redrivePointOf(th)
	if p == nil {
		return
	}
	seed := r.x.redone
	delete(seed.at, th)
	for i, out := range p.outputs {
		if i < len(th.fan.results) && out != nil {
			th.fan.results[i] = out
			th.fan.completed++
		}
	}
	seed.pending[th] = p.children
}

// redrivePointOf returns the redrive point of th's current state when a redrive re-enters it
// for the first time, else nil.
func (r *run) redrivePointOf(th *thread) *redrivePoint {
	seed := r.x.redone
	if seed == nil {
		return nil
	}
	p := seed.at[th]
	if p == nil || th.state.Name != p.state {
		return nil
	}
	return p
}

// redriveStart returns the state a branch or iteration of a redriven Parallel or Map enters,
// and its input: where it failed before, with the variables it had assigned, or else start.
func (r *run) redriveStart(th, child *thread, start string, input jsonv.Value) (string, jsonv.Value) {
	seed := r.x.redone
	if seed == nil {
		return start, input
	}
	p := seed.pending[th][int(child.index)]
	if p == nil {
		return start, input
	}
	seed.at[child] = p
	if len(p.vars) > 0 {
		child.vars = maps.Clone(p.vars)
	}
	return p.state, p.input
}

// ChildHistories returns the history of a Map Run child execution as the engine stores it
// (GetExecutionHistory's JSON with execution data), oldest first.
type ChildHistories func(childArn string) ([][]byte, error)

// Redrive resumes an execution that ended FAILED, TIMED_OUT or ABORTED (its final snapshot)
// from the top-level state it was in when it ended, with that state's original input and the
// variables the top level had assigned, after an ExecutionRedriven event. events is the
// execution's history as the engine stores it (GetExecutionHistory's JSON with execution
// data), oldest first: the snapshot of an ended execution keeps no threads, so the history is
// where the point of failure is read.
//
// A Parallel or Map state runs again only the branches or iterations that did not succeed,
// each from the state it was in, and so on at every level of nesting; the others keep the
// outputs they had. Branches and iterations started after the redrive's first burst (beyond a
// Map's MaxConcurrency) start over, as the points are not kept in the snapshot. A distributed
// Map redrives its Map Run instead, whose record (kept in the snapshot) says which child
// executions succeeded (see redriveMapRun); its STANDARD child executions that did not succeed
// are redriven the same way, each resuming where its own history (read with children) says it
// failed.
func Redrive(def *asl.StateMachine, snapshot []byte, events [][]byte, children ChildHistories, now time.Time) (*Execution, Result, error) {
	x, err := Restore(def, snapshot)
	if err != nil {
		return nil, Result{}, err
	}
	if x.Status != Failed && x.Status != TimedOut && x.Status != Aborted {
		return nil, Result{}, fmt.Errorf("execution %s is %s: %w", x.ID.ExecutionArn, x.Status, ErrNotRedrivable)
	}
	if x.ID.RedriveCount >= MaxRedrives {
		return nil, Result{}, fmt.Errorf("execution %s was redriven %d times: %w", x.ID.ExecutionArn, x.ID.RedriveCount, ErrNotRedrivable)
	}
	// AWS's reasons "Execution history event limit exceeded" and "Execution has exceeded the
	// max execution time": a redrive adds to the history and keeps the start time.
	if x.nextEventID >= MaxHistoryEvents-1 {
		return nil, Result{}, fmt.Errorf("execution %s has %d history events: %w", x.ID.ExecutionArn, x.nextEventID, ErrNotRedrivable)
	}
	if now.Sub(x.ID.StartTime) >= MaxDuration {
		return nil, Result{}, fmt.Errorf("execution %s started more than a year ago: %w", x.ID.ExecutionArn, ErrNotRedrivable)
	}
	point, err := findRedrivePoint(&def.Machine, events)
	if err != nil {
		return nil, Result{}, fmt.Errorf("execution %s: %w", x.ID.ExecutionArn, err)
	}
	x.redone = newRedriveSeed()
	if x.redone.children, err = x.childPoints(def, point, children); err != nil {
		return nil, Result{}, fmt.Errorf("execution %s: %w", x.ID.ExecutionArn, err)
	}
	x.Status, x.Output, x.Error, x.Cause = Running, nil, nil, nil
	x.ID.RedriveCount++
	r := &run{x: x, now: now}
	count := x.ID.RedriveCount
	redriven := r.emit("ExecutionRedriven", x.nextEventID, history.Details{RedriveCount: &count})
	if def.TimeoutSeconds > 0 {
		r.startTimer(timerRef{kind: timerExecution}, now.Add(time.Duration(def.TimeoutSeconds)*time.Second))
	}
	x.root = r.newThread(nil, &def.Machine, point.input, 0)
	x.root.prev = redriven
	if len(point.vars) > 0 {
		x.root.vars = point.vars
	}
	x.redone.at[x.root] = point
	r.burst(x.root, point.state, point.input)
	r.startQuota(x.ID.StartTime.Add(MaxDuration))
	x.redone = nil
	return x, r.result(), nil
}

// hthread is a thread of the execution as its history shows it.
type hthread struct {
	machine *asl.Machine // the states it runs
	parent  *hfan        // nil for the top level
	index   int          // its branch or iteration index
	entered *redriveEvent
	// entries counts the states it entered; vars are those its exits assigned.
	entries int
	vars    map[string]string
	last    *redriveEvent
	// fan is the Parallel or Map its last entered state started, open until that ends.
	fan  *hfan
	open bool
}

// hfan is a Parallel or Map state's run of its branches or iterations.
type hfan struct {
	owner     *hthread
	state     *asl.State
	startedID int64
	children  map[int]*hthread
	succeeded map[int]string // Map iterations that succeeded: their outputs
	mapRunArn string         // a distributed Map's Map Run
}

// fanClosing lists the events that end a Parallel or Map. When the last branch or iteration
// ends them, their previousEventId is that child's last event (so is their exit's).
var fanClosing = map[string]bool{
	"ParallelStateSucceeded": true, "ParallelStateFailed": true, "MapStateSucceeded": true, "MapStateFailed": true,
}

// findRedrivePoint reads from the history where the execution resumes (see redrivePoint). The
// history is split into runs at each ExecutionRedriven; within a run every event belongs to
// the thread of the event it follows (previousEventId), except the first events of branches
// and iterations and the events that end a Parallel or Map, which name their thread by their
// place. State names are unique across a whole definition, so a state entered names the
// branch it is in. The points of the runs add up: a redrive that failed again in the state it
// resumed in keeps the outputs of the children that succeeded in any run.
func findRedrivePoint(m *asl.Machine, events [][]byte) (*redrivePoint, error) {
	var point *redrivePoint
	vars := map[string]string{}
	var run []*redriveEvent
	finish := func() error {
		if len(run) == 0 {
			return nil
		}
		root := replayRun(m, run)
		for k, v := range root.vars {
			vars[k] = v
		}
		cur, err := root.point(len(run) > 0 && run[0].Type == "ExecutionRedriven")
		if err != nil {
			return err
		}
		if cur != nil {
			point = mergePoints(point, cur)
		}
		return nil
	}
	for _, b := range events {
		ev := &redriveEvent{}
		if err := json.Unmarshal(b, ev); err != nil {
			return nil, fmt.Errorf("interp: reading history for a redrive: %w", err)
		}
		if ev.Type == "ExecutionRedriven" {
			if err := finish(); err != nil {
				return nil, err
			}
			run = run[:0]
		}
		run = append(run, ev)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if point == nil {
		return nil, fmt.Errorf("%w: no state was entered", ErrNotRedrivable)
	}
	var err error
	if point.vars, err = parseVars(vars); err != nil {
		return nil, err
	}
	return point, nil
}

// replayRun sorts one run's events into threads and returns the top level's, which runs m.
func replayRun(m *asl.Machine, run []*redriveEvent) *hthread {
	root := &hthread{machine: m}
	threadOf := map[int64]*hthread{run[0].ID: root}
	byID := map[int64]*redriveEvent{}
	for _, ev := range run[1:] {
		byID[ev.ID] = ev
		pt := threadOf[ev.Prev]
		if pt == nil {
			pt = root
		}
		t := pt
		switch {
		case ev.IterStarted != nil:
			f := pt.fan
			if f == nil || f.startedID != ev.Prev {
				f = pt.parent // it follows the last event of a sibling iteration
			}
			if f == nil || f.state.Map == nil {
				break
			}
			t = &hthread{machine: f.state.Map.Processor, parent: f, index: ev.IterStarted.Index}
			f.children[t.index] = t
		case ev.Entered != nil && pt.fan != nil && pt.fan.startedID == ev.Prev && pt.fan.state.Parallel != nil:
			f := pt.fan
			for i, b := range f.state.Parallel.Branches {
				if b.States[ev.Entered.Name] != nil {
					t = &hthread{machine: b, parent: f, index: i}
					f.children[i] = t
				}
			}
		case ev.IterSucceeded != nil || ev.IterFailed != nil || ev.IterAborted != nil:
			if pt.parent == nil {
				break
			}
			t = pt.parent.owner
			if ev.IterSucceeded != nil {
				if last := byID[ev.Prev]; last != nil && last.Exited != nil && last.Exited.Output != nil {
					pt.parent.succeeded[ev.IterSucceeded.Index] = *last.Exited.Output
				}
			}
		case ev.Exited != nil:
			// A Parallel's or Map's exit follows the last event of its last child.
			for t.machine.States[ev.Exited.Name] == nil && t.parent != nil {
				t = t.parent.owner
			}
		case fanClosing[ev.Type] && !pt.fanPending() && pt.parent != nil:
			t = pt.parent.owner
		}
		threadOf[ev.ID] = t
		t.apply(ev)
	}
	return root
}

// fanPending reports whether the thread's state is a Parallel or Map that has not ended: an
// event ending one is then the thread's own, else its parent's.
func (t *hthread) fanPending() bool {
	if t.entered == nil {
		return false
	}
	st := t.machine.States[t.entered.Entered.Name]
	return st != nil && (st.Parallel != nil || st.Map != nil) && (t.fan == nil || t.open)
}

// apply records an event of the thread.
func (t *hthread) apply(ev *redriveEvent) {
	t.last = ev
	switch {
	case ev.Entered != nil && t.machine.States[ev.Entered.Name] != nil:
		t.entered, t.fan, t.open = ev, nil, false
		t.entries++
	case ev.Exited != nil && t.machine.States[ev.Exited.Name] != nil:
		if t.vars == nil && len(ev.Exited.Assigned) > 0 {
			t.vars = map[string]string{}
		}
		for k, v := range ev.Exited.Assigned {
			t.vars[k] = v
		}
	case ev.Type == "ParallelStateStarted" || ev.Type == "MapStateStarted":
		if t.entered != nil {
			t.fan = &hfan{owner: t, state: t.machine.States[t.entered.Entered.Name], startedID: ev.ID,
				children: map[int]*hthread{}, succeeded: map[int]string{}}
			t.open = true
		}
	case ev.MapRunStarted != nil || ev.MapRunAgain != nil:
		if t.fan != nil {
			d := ev.MapRunStarted
			if d == nil {
				d = ev.MapRunAgain
			}
			t.fan.mapRunArn = d.MapRunArn
		}
	case fanClosing[ev.Type]:
		t.open = false
	}
}

// output returns what a branch or iteration returned, if it succeeded: a Map records it; a
// branch succeeded when its last event is the exit of a terminal state.
func (t *hthread) output() (string, bool) {
	if t.parent.state.Map != nil {
		out, ok := t.parent.succeeded[t.index]
		return out, ok
	}
	last := t.last
	if last == nil || last.Exited == nil || last.Exited.Output == nil {
		return "", false
	}
	st := t.machine.States[last.Exited.Name]
	return *last.Exited.Output, st != nil && (st.End || st.Type == asl.Succeed)
}

// point returns where the thread resumes; nil when it entered no state (it starts over).
// redriven tells whether the thread's run was a redrive.
func (t *hthread) point(redriven bool) (*redrivePoint, error) {
	if t.entered == nil {
		return nil, nil
	}
	name := t.entered.Entered.Name
	if t.entered.Entered.Input == nil {
		return nil, fmt.Errorf("%w: the input of state %s is not in its history", ErrNotRedrivable, name)
	}
	input, err := jsonv.ParseString(*t.entered.Entered.Input)
	if err != nil {
		return nil, fmt.Errorf("interp: input of state %s: %w", name, err)
	}
	p := &redrivePoint{state: name, input: input, resumed: redriven && t.entries == 1}
	if t.parent != nil {
		if p.vars, err = parseVars(t.vars); err != nil {
			return nil, err
		}
	}
	if t.fan == nil {
		return p, nil
	}
	p.outputs, p.children = map[int]jsonv.Value{}, map[int]*redrivePoint{}
	p.mapRunArn = t.fan.mapRunArn
	for i, c := range t.fan.children {
		if text, ok := c.output(); ok {
			v, err := jsonv.ParseString(text)
			if err != nil {
				return nil, fmt.Errorf("interp: output of %s's branch or iteration %d: %w", name, i, err)
			}
			p.outputs[i] = v
			continue
		}
		cp, err := c.point(redriven)
		if err != nil {
			return nil, err
		}
		if cp != nil {
			p.children[i] = cp
		}
	}
	return p, nil
}

// mergePoints adds the point of a later run to that of the run before it: when the later run
// resumed in the same state, the branches or iterations it did not run keep their earlier
// outcome.
func mergePoints(prev, cur *redrivePoint) *redrivePoint {
	if prev == nil || !cur.resumed || prev.state != cur.state {
		return cur
	}
	out := &redrivePoint{state: cur.state, input: cur.input, resumed: true, mapRunArn: cur.mapRunArn,
		vars: maps.Clone(prev.vars), outputs: maps.Clone(prev.outputs), children: maps.Clone(prev.children)}
	if out.mapRunArn == "" {
		out.mapRunArn = prev.mapRunArn // the redrive failed before it got to the Map Run
	}
	if out.vars == nil {
		out.vars = map[string]jsonv.Value{}
	}
	maps.Copy(out.vars, cur.vars)
	if out.outputs == nil {
		out.outputs = map[int]jsonv.Value{}
	}
	if out.children == nil {
		out.children = map[int]*redrivePoint{}
	}
	for i, o := range cur.outputs {
		out.outputs[i] = o
		delete(out.children, i)
	}
	for i, c := range cur.children {
		out.children[i] = mergePoints(prev.children[i], c)
	}
	return out
}

func parseVars(texts map[string]string) (map[string]jsonv.Value, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	vars := make(map[string]jsonv.Value, len(texts))
	for name, text := range texts {
		v, err := jsonv.ParseString(text)
		if err != nil {
			return nil, fmt.Errorf("interp: variable %s: %w", name, err)
		}
		vars[name] = v
	}
	return vars, nil
}
