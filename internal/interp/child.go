package interp

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

// A distributed Map's items run as child executions, which AWS lets callers describe and read
// the history of under their own ARNs. Here a child runs as an isolated thread of its parent
// (it shares the parent's snapshot, timers and tasks), and its events go to a history of its
// own: the child's event ids count from 1, kept in its Map Run record, and a Step returns its
// events apart from the execution's (Result.Children).

// ChildHistory is the events a Step recorded for one Map Run child execution.
type ChildHistory struct {
	ExecutionArn string
	// Key numbers the child within the execution: its Map Run's place among the execution's
	// Map Runs in the high 32 bits, its item's index in the low ones. Keys grow as children
	// start, which lets a store write their events in order.
	Key    int64
	Events []history.Event
}

// childRef names a Map Run child execution: item index of Map Run run.
type childRef struct {
	run   *mapRun
	index int
}

// childArn returns the ARN and name of item i's child execution of Map Run mr. The name is
// derived from the Map Run's ARN and the index, so that restores and replays agree on it; an
// EXPRESS child's ARN carries a second UUID, as AWS's Express execution ARNs do.
func (x *Execution) childArn(mr *mapRun, i int) (arn, name string) {
	id := &x.ID
	name = uuidFrom(mr.arn + "/" + strconv.Itoa(i))
	machine := id.StateMachineName + "/" + mr.label
	prefix := "arn:aws:states:" + id.Region + ":" + id.Account + ":"
	if mr.executionType == "EXPRESS" {
		return prefix + "express:" + machine + ":" + name + ":" + uuidFrom(name), name
	}
	return prefix + "execution:" + machine + ":" + name, name
}

// emitIn records an event in the history of child c, or in the execution's when c is nil. An
// EXPRESS child keeps only its Execution… events: AWS records no history of Express
// executions, but DescribeExecution of such a child still reports its input and outcome.
func (r *run) emitIn(c *childRef, typ string, prev int64, d history.Details) int64 {
	if c == nil {
		return r.emit(typ, prev, d)
	}
	if c.run.executionType == "EXPRESS" && !strings.HasPrefix(typ, "Execution") {
		return prev
	}
	it := &c.run.iters[c.index]
	// As for the execution (see emit), a child's history stops at MaxHistoryEvents: the event
	// that would be the last one allowed is the child's ExecutionFailed instead.
	if it.events == MaxHistoryEvents-1 && !strings.HasPrefix(typ, "Execution") && r.x.test == nil {
		panic(childHistoryFull{*c})
	}
	it.events++
	i, ok := r.childIndex[*c]
	if !ok {
		if r.childIndex == nil {
			r.childIndex = map[childRef]int{}
		}
		arn, _ := r.x.childArn(c.run, c.index)
		i = len(r.children)
		r.childIndex[*c] = i
		key := childKey(slices.Index(r.x.mapRuns, c.run), c.index)
		r.children = append(r.children, ChildHistory{ExecutionArn: arn, Key: key, Events: make([]history.Event, 0, 8)})
	}
	h := &r.children[i]
	h.Events = append(h.Events, history.Event{ID: it.events, PreviousEventID: prev, Timestamp: r.now, Type: typ, Details: d})
	return it.events
}

// childStarted starts child, the thread of item child.index of Map Run mr, as that item's
// child execution: ExecutionStarted with the item as input, or ExecutionRedriven when the
// child ended unsuccessfully and its Map Run is redriven. It returns where a redriven child
// resumes (nil: at its StartAt, with the item).
func (r *run) childStarted(child *thread, mr *mapRun, input jsonv.Value) *redrivePoint {
	i := int(child.index)
	child.isolated = true
	child.child = &childRef{run: mr, index: i}
	child.childInput, child.hasChildInput = input, true
	if mr.executionType == "EXPRESS" {
		// An Express execution's five minutes, a quota like the execution's year.
		child.childTimer = "timer-" + r.seq()
		r.x.timers[child.childTimer] = timerRef{kind: timerChild, thread: child.id}
		r.effects = append(r.effects, StartTimer{TimerID: child.childTimer, Due: r.now.Add(ExpressMaxDuration), Quota: true})
	}
	var resume *redrivePoint
	child.prev, resume = r.startChild(mr, i, input)
	return resume
}

// startChild records the start of item i's child execution of Map Run mr, with input:
// ExecutionStarted, or ExecutionRedriven for a child that ended unsuccessfully and is
// redriven. It returns the event's id and where a redriven child resumes (nil: at its
// StartAt, with the item).
func (r *run) startChild(mr *mapRun, i int, input jsonv.Value) (int64, *redrivePoint) {
	it := &mr.iters[i]
	redriven, resume := it.waiting, it.resume
	r.childStarts++
	mr.iterStarted(i, r.now)
	c := &childRef{run: mr, index: i}
	if redriven {
		count := it.redrives
		return r.emitIn(c, "ExecutionRedriven", it.events, history.Details{RedriveCount: &count}), resume
	}
	return r.emitIn(c, "ExecutionStarted", 0, history.Details{Input: r.text(input), RoleArn: r.x.ID.RoleArn}), nil
}

// childTimedOut ends an EXPRESS child execution still running ExpressMaxDuration after it
// started (or at ExpressBurstLimit), as AWS times out an Express execution: ExecutionTimedOut,
// States.Timeout, which its Map counts as a failed item.
func (r *run) childTimedOut(th *thread) {
	c := th.child
	r.abortThread(th) // which cancels the child's timer unless it fired
	r.emitIn(c, "ExecutionTimedOut", c.run.iters[c.index].events, history.Details{Error: ptr(sferr.Timeout)})
	c.run.iterEnded(c.index, iterTimedOut, r.now)
	p := th.parent
	r.queue = append(r.queue, func() { r.childFailed(p, th, failure{name: ptr(sferr.Timeout)}) })
}

// childAborted ends item i's child execution, if it is running, as aborted: its Map Run
// failed or was aborted.
func (r *run) childAborted(mr *mapRun, i int) {
	if mr.iters[i].state != iterRunning {
		return
	}
	// As for an execution that StopExecution aborts, AWS links the event to none before it.
	r.emitIn(&childRef{run: mr, index: i}, "ExecutionAborted", 0, history.Details{})
	mr.iterEnded(i, iterAborted, r.now)
}

// stopChild stops a running Map Run child execution, as StopExecution of its ARN does: the
// child ends aborted with the error and cause given, and its Map counts it as a failed item
// (AWS counts children "stopped by the user" among the aborted ones); when that is more than
// the Map tolerates, the Map fails with that error, as with a child that failed. A child that
// already ended is left alone.
func (r *run) stopChild(e Stop) {
	for _, th := range r.x.threads {
		c := th.child
		if !th.isolated || c == nil || th.done || c.run.iters[c.index].state != iterRunning {
			continue
		}
		if arn, _ := r.x.childArn(c.run, c.index); arn != e.Child {
			continue
		}
		r.abortThread(th)
		r.emitIn(c, "ExecutionAborted", 0, history.Details{Error: e.Error, Cause: e.Cause})
		c.run.iterEnded(c.index, iterAborted, r.now)
		p := th.parent
		r.queue = append(r.queue, func() { r.childFailed(p, th, failure{name: e.Error, cause: e.Cause}) })
		return
	}
	r.stopGroupChild(e)
}

// childPoints reads where the unsuccessful STANDARD child executions of the Map Runs that the
// redrive at p redrives resume, each from its own history: redriving a Map Run redrives such a
// child as RedriveExecution redrives an execution. EXPRESS children, and children whose
// history shows no state entered, start over (AWS reruns Express children with
// StartExecution). Without histories every child starts over.
func (x *Execution) childPoints(def *asl.StateMachine, p *redrivePoint, histories ChildHistories) (map[string]*redrivePoint, error) {
	if histories == nil {
		return nil, nil
	}
	out := map[string]*redrivePoint{}
	var walk func(p *redrivePoint) error
	walk = func(p *redrivePoint) error {
		if p.mapRunArn != "" {
			if err := x.childPointsOf(def, p, histories, out); err != nil {
				return err
			}
		}
		for _, c := range p.children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(p)
}

// childPointsOf adds to out the points of the children of the Map Run of p, the point of a
// distributed Map.
func (x *Execution) childPointsOf(def *asl.StateMachine, p *redrivePoint, histories ChildHistories, out map[string]*redrivePoint) error {
	st := findState(&def.Machine, p.state)
	if st == nil || st.Map == nil {
		return nil
	}
	for _, mr := range x.mapRuns {
		if mr.arn != p.mapRunArn || mr.executionType == "EXPRESS" {
			continue
		}
		for i, it := range mr.iters {
			if it.state != iterFailed && it.state != iterAborted && it.state != iterTimedOut {
				continue
			}
			arn, _ := x.childArn(mr, i)
			events, err := histories(arn)
			if err != nil {
				return fmt.Errorf("interp: reading the history of child execution %s: %w", arn, err)
			}
			cp, err := findRedrivePoint(st.Map.Processor, events)
			if errors.Is(err, ErrNotRedrivable) {
				continue
			}
			if err != nil {
				return fmt.Errorf("interp: child execution %s: %w", arn, err)
			}
			out[arn] = cp
		}
	}
	return nil
}

// findState finds the state named name in m or in the machines nested in it; state names are
// unique across a definition.
func findState(m *asl.Machine, name string) *asl.State {
	if st := m.States[name]; st != nil {
		return st
	}
	for _, st := range m.States {
		switch {
		case st.Parallel != nil:
			for _, b := range st.Parallel.Branches {
				if found := findState(b, name); found != nil {
					return found
				}
			}
		case st.Map != nil:
			if found := findState(st.Map.Processor, name); found != nil {
				return found
			}
		}
	}
	return nil
}

// resumeChild makes a redriven child execution resume at its redrive point p, with the
// variables it had: the point seeds the child's thread as a redrive seeds a branch's, for the
// Parallel or Map it may resume in. It returns the state to enter and its input.
func (r *run) resumeChild(child *thread, p *redrivePoint) (string, jsonv.Value) {
	if r.x.redone == nil {
		r.x.redone = newRedriveSeed() // a child redriven after the redrive's first burst
	}
	r.x.redone.at[child] = p
	if len(p.vars) > 0 {
		child.vars = maps.Clone(p.vars)
	}
	return p.state, p.input
}

// MaxChildStartsPerStep bounds the Map Run child executions one step starts. A distributed Map
// over many items would otherwise run them all in one step, holding every child's history in
// memory and writing it in one transaction that stalls the store's other writers; past the
// bound, the Map goes on in the next step, at once (moreChildrenLater). AWS, too, starts a Map
// Run's children over time.
const MaxChildStartsPerStep = 2500

// moreChildrenLater has th's distributed Map start its next children in a step of their own:
// a timer due now, on the Map's thread, which waits on its children and so has no other.
func (r *run) moreChildrenLater(th *thread) {
	if th.timerID != "" {
		return
	}
	th.timerID = r.startTimer(timerRef{kind: timerMoreChildren, thread: th.id}, r.now)
}

// childHistoryFull is the panic that unwinds the work of a Map Run child execution whose
// history reached MaxHistoryEvents: as historyFull for the execution, it can strike deep in a
// state's work, but it unwinds only the work of that child (see guarded). childOutOfTime does
// the same for an EXPRESS child at ExpressBurstLimit.
type (
	childHistoryFull struct{ child childRef }
	childOutOfTime   struct{ child childRef }
)

// guarded runs f, a piece of the step's work, and ends the child execution whose history f
// filled (see childHistoryFull). The work of other threads, queued apart, goes on.
func (r *run) guarded(f func()) {
	defer func() {
		switch p := recover().(type) {
		case nil:
		case childHistoryFull:
			r.endChildAtHistoryLimit(p.child)
		case childOutOfTime:
			if root := r.childRoot(p.child); root != nil {
				r.childTimedOut(root)
			}
		default:
			panic(p)
		}
	}()
	f()
}

// endChildAtHistoryLimit fails the child execution c, whose history is full, as AWS ends an
// execution at MaxHistoryEvents: ExecutionFailed, States.Runtime, as its last event. Its Map
// takes it as a failed item.
func (r *run) endChildAtHistoryLimit(c childRef) {
	root := r.childRoot(c)
	it := &c.run.iters[c.index]
	if root == nil || it.state != iterRunning {
		return
	}
	r.abortThread(root)
	name, cause := sferr.Runtime, historyLimitCause
	r.emitIn(&c, "ExecutionFailed", it.events, history.Details{Error: &name, Cause: &cause})
	c.run.iterEnded(c.index, iterFailed, r.now)
	p := root.parent
	r.queue = append(r.queue, func() { r.childFailed(p, root, failure{name: &name, cause: &cause}) })
}

// childRoot returns the running thread of child execution c, or nil.
func (r *run) childRoot(c childRef) *thread {
	for _, th := range r.x.threads {
		if th.isolated && th.child != nil && *th.child == c {
			return th
		}
	}
	return nil
}

// childKey is the ChildHistory.Key of item i of the execution's Map Run number run (its place
// among the execution's Map Runs); splitChildKey takes it apart.
func childKey(run, i int) int64 { return int64(run)<<32 | int64(i) }

func splitChildKey(key int64) (run, i int) { return int(key >> 32), int(key & (1<<32 - 1)) }
