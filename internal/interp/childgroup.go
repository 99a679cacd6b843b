package interp

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

// A Map Run's EXPRESS children can run away from their parent: in groups, each group a task
// of MapChildrenResource that goes through the outbox like any task, so that whichever node
// claims it runs its children, and a node's crash hands the group to another once its claim
// lapses. An EXPRESS child has no history to keep but its start and end, runs at most five
// minutes and at least once (as on AWS), which is exactly what a task is; a STANDARD child
// keeps a history of every step and may wait a year, so it stays a thread of its parent. The
// parent records each child's ExecutionStarted when it hands the group over, and its end
// when the group's outcomes come back.

// MapChildrenResource is the resource of the task that runs a group of a Map Run's EXPRESS
// child executions. Its parameters are
//
//	{"StateMachineName": "SM/LABEL", "RoleArn": …,
//	 "Children": [{"Index": i, "ExecutionArn": …, "Name": …, "StartTime": …, "Input": item}, …]}
//
// and the task's state (its StateName) is the distributed Map whose ItemProcessor the children
// run. It answers {"Children": [{"Index": i, "Status": "SUCCEEDED", "Output": …} or
// {"Index": i, "Status": "FAILED"|"TIMED_OUT", "Error": …, "Cause": …}, …]}.
const MapChildrenResource = "stepline:mapChildren"

// maxChildGroup bounds the children of one group: enough that a group's task is worth its
// round trip through the store, few enough that a Map's concurrency is shared among nodes.
const maxChildGroup = 10

// groupChild is a child execution being handed to a group: its item's index and its input.
type groupChild struct {
	index int
	input jsonv.Value
}

// childrenAsTasks reports whether the children of th's Map run as group tasks: EXPRESS
// children of a Map Run, in an execution whose runner asked for it (Identity.ChildrenAsTasks).
// Mocked and tested executions keep them as threads, where their mocks and inspection are, and
// so do children with a task that completes through a task token: a child run in memory has
// no token that SendTask* could complete.
func (r *run) childrenAsTasks(th *thread) bool {
	fan := th.fan
	return fan.run != nil && fan.run.executionType == "EXPRESS" && r.x.ID.ChildrenAsTasks &&
		r.x.ID.TestCase == nil && r.x.test == nil && !tokenTasks(th.state.Map.Processor)
}

// tokenTasks reports whether m, or a machine nested in it, has a Task whose task completes
// through a task token (an activity, .waitForTaskToken, .sync).
func tokenTasks(m *asl.Machine) bool {
	for _, st := range m.States {
		switch {
		case st.Task != nil:
			if t := classify(st.Task.Resource); t.needsToken() {
				return true
			}
		case st.Parallel != nil:
			if slices.ContainsFunc(st.Parallel.Branches, tokenTasks) {
				return true
			}
		case st.Map != nil:
			if tokenTasks(st.Map.Processor) {
				return true
			}
		}
	}
	return false
}

// childGroupSize is the size of the groups of a Map of concurrency maxConc (0: unbounded): a
// quarter of it, so that at least four groups run at once when the Map lets enough children
// run, and between 1 and maxChildGroup.
func childGroupSize(maxConc int) int {
	if maxConc == 0 {
		return maxChildGroup
	}
	return min(max(maxConc/4, 1), maxChildGroup)
}

// scheduleGroups hands the children just started to group tasks.
func (r *run) scheduleGroups(th *thread, children []groupChild) {
	if len(children) == 0 || th.fan == nil {
		return
	}
	fan := th.fan
	mr := fan.run
	size := childGroupSize(fan.maxConc)
	for len(children) > 0 {
		n := min(size, len(children))
		g := children[:n]
		children = children[n:]
		list := make([]jsonv.Value, n)
		idx := make([]int, n)
		for k, c := range g {
			arn, name := r.x.childArn(mr, c.index)
			list[k] = jsonv.ObjectOf(
				jsonv.Member{Key: "Index", Value: jsonv.Int(int64(c.index))},
				jsonv.Member{Key: "ExecutionArn", Value: arn},
				jsonv.Member{Key: "Name", Value: name},
				jsonv.Member{Key: "StartTime", Value: isoTime(mr.iters[c.index].start)},
				jsonv.Member{Key: "Input", Value: c.input},
			)
			idx[k] = c.index
		}
		id := "task-" + r.seq()
		if fan.groups == nil {
			fan.groups = map[string][]int{}
		}
		fan.groups[id] = idx
		r.x.tasks[id] = th
		r.effects = append(r.effects, ScheduleTask{TaskID: id, StateName: th.state.Name, Resource: MapChildrenResource,
			Parameters: jsonv.ObjectOf(
				jsonv.Member{Key: "StateMachineName", Value: r.x.ID.StateMachineName + "/" + mr.label},
				jsonv.Member{Key: "RoleArn", Value: r.x.ID.RoleArn},
				jsonv.Member{Key: "Children", Value: list},
			)})
	}
}

// groupThread returns the Map thread whose group task id is, if it is one.
func (r *run) groupThread(id string) *thread {
	th := r.x.tasks[id]
	if th == nil || th.done || th.fan == nil || th.fan.groups[id] == nil {
		return nil
	}
	return th
}

// groupOutcome is how one child of a group ended.
type groupOutcome struct {
	output   jsonv.Value
	failure  *failure
	timedOut bool
}

// groupSucceeded takes the outcomes of group task id. A child the task says nothing of
// failed, as a child whose runner broke would have.
func (r *run) groupSucceeded(th *thread, id, output string) {
	outcomes := map[int]groupOutcome{}
	v, _ := jsonv.ParseString(output)
	if o, ok := v.(*jsonv.Object); ok {
		list, _ := o.Get("Children")
		children, _ := list.([]jsonv.Value)
		for _, c := range children {
			if c, ok := c.(*jsonv.Object); ok {
				if i, oc, ok := parseOutcome(c); ok {
					outcomes[i] = oc
				}
			}
		}
	}
	r.groupEnded(th, id, func(i int) groupOutcome {
		if oc, ok := outcomes[i]; ok {
			return oc
		}
		return groupOutcome{failure: &failure{name: ptr(sferr.Runtime),
			cause: ptr("The runner of child execution " + strconv.Itoa(i) + "'s group gave no outcome for it")}}
	})
}

// groupFailed fails every child of group task id with the task's error: its runner could not
// run them.
func (r *run) groupFailed(th *thread, id, name, cause string) {
	r.groupEnded(th, id, func(int) groupOutcome { return groupOutcome{failure: &failure{name: &name, cause: &cause}} })
}

func parseOutcome(c *jsonv.Object) (int, groupOutcome, bool) {
	iv, _ := c.Get("Index")
	n, ok := iv.(jsonv.Number)
	if !ok {
		return 0, groupOutcome{}, false
	}
	i64, ok := n.Int64()
	if !ok {
		return 0, groupOutcome{}, false
	}
	status, _ := c.Get("Status")
	if status == "SUCCEEDED" {
		out, ok := c.Get("Output")
		return int(i64), groupOutcome{output: out}, ok
	}
	f := &failure{}
	if e, ok := c.Get("Error"); ok {
		if s, ok := e.(string); ok {
			f.name = &s
		}
	}
	if e, ok := c.Get("Cause"); ok {
		if s, ok := e.(string); ok {
			f.cause = &s
		}
	}
	return int(i64), groupOutcome{failure: f, timedOut: status == "TIMED_OUT"}, true
}

// groupEnded records the end of each child of group id still running, in index order, with
// the outcome outcome gives for it, then lets the Map start more children. A child's failure
// that the Map does not tolerate fails the Map, which aborts the children after it.
func (r *run) groupEnded(th *thread, id string, outcome func(i int) groupOutcome) {
	fan := th.fan
	delete(r.x.tasks, id) // the group stays in fan.groups until its children are recorded
	r.holdStarts = fan
	for _, i := range fan.groups[id] {
		if th.fan != fan || fan.failing != nil {
			break // the Map failed: the children left were aborted with it
		}
		r.groupChildEnded(th, i, outcome(i))
	}
	r.holdStarts = nil
	delete(fan.groups, id)
	if th.fan != fan || th.done {
		return
	}
	r.startIterations(th, th.prev)
	if fan.completed == len(fan.results) {
		r.fanMaybeDone(th)
	}
}

// groupChildEnded records how item i's child execution, run in a group, ended.
func (r *run) groupChildEnded(th *thread, i int, oc groupOutcome) {
	fan := th.fan
	mr := fan.run
	it := &mr.iters[i]
	if it.state != iterRunning {
		return // stopped meanwhile, and counted then
	}
	fan.running--
	if oc.failure == nil {
		fan.completed++
		fan.results[i] = oc.output
		r.childEnded(th, i, it.events, oc.output)
		return
	}
	c := &childRef{run: mr, index: i}
	if oc.timedOut {
		r.emitIn(c, "ExecutionTimedOut", it.events, history.Details{Error: oc.failure.name, Cause: oc.failure.cause})
		mr.iterEnded(i, iterTimedOut, r.now)
	} else {
		r.emitIn(c, "ExecutionFailed", it.events, history.Details{Error: oc.failure.name, Cause: oc.failure.cause})
		mr.iterEnded(i, iterFailed, r.now)
	}
	r.itemFailed(th, i, *oc.failure, th.prev, false)
}

// stopGroupChild stops the child execution arn if a group runs it, as stopChild stops one that
// runs as a thread; its group's outcome for it is then ignored.
func (r *run) stopGroupChild(e Stop) {
	for _, th := range r.x.threads {
		fan := th.fan
		if th.done || fan == nil || len(fan.groups) == 0 {
			continue
		}
		for _, id := range sortedGroups(fan) {
			for _, i := range fan.groups[id] {
				if fan.run.iters[i].state != iterRunning {
					continue
				}
				if arn, _ := r.x.childArn(fan.run, i); arn != e.Child {
					continue
				}
				r.emitIn(&childRef{run: fan.run, index: i}, "ExecutionAborted", 0, history.Details{Error: e.Error, Cause: e.Cause})
				fan.run.iterEnded(i, iterAborted, r.now)
				r.queue = append(r.queue, func() {
					if th.fan == fan && fan.failing == nil {
						fan.running--
						r.itemFailed(th, i, failure{name: e.Error, cause: e.Cause}, th.prev, false)
					}
				})
				return
			}
		}
	}
}

// abortGroups aborts the children that fan's groups still run, keeping their records for the
// ResultWriter, and withdraws the groups' tasks.
func (r *run) abortGroups(th *thread, fan *fanOut) {
	for _, id := range sortedGroups(fan) {
		for _, i := range fan.groups[id] {
			if fan.run.iters[i].state == iterRunning {
				r.childAborted(fan.run, i)
				r.childRecord(th, i, nil, &failure{})
			}
		}
	}
	r.cancelGroups(th, fan)
}

// cancelGroups withdraws the tasks of fan's groups, whose children are aborted.
func (r *run) cancelGroups(th *thread, fan *fanOut) {
	for _, id := range sortedGroups(fan) {
		if r.x.tasks[id] == th {
			delete(r.x.tasks, id)
			r.effects = append(r.effects, CancelTask{TaskID: id})
		}
	}
	fan.groups = nil
}

// sortedGroups lists fan's group task ids in order, so that what is done for each is
// recorded in the same order by every replay.
func sortedGroups(fan *fanOut) []string {
	return slices.Sorted(maps.Keys(fan.groups))
}

// ErrNoProcessor reports a state that is not a distributed Map (ProcessorMachine).
var ErrNoProcessor = errors.New("no distributed Map of that name")

// ProcessorMachine returns the ItemProcessor of def's distributed Map state as a state machine
// of its own, which the runner of a group (MapChildrenResource) runs each child execution of.
func ProcessorMachine(def *asl.StateMachine, state string) (*asl.StateMachine, error) {
	st := findState(&def.Machine, state)
	if st == nil || st.Map == nil || !distributed(st.Map) {
		return nil, fmt.Errorf("interp: state %q: %w", state, ErrNoProcessor)
	}
	m := *st.Map.Processor
	m.Processor = nil // the child's top level, not a processor any more
	return &asl.StateMachine{Machine: m}, nil
}
