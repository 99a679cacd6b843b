package interp

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/jsonv"
)

// ErrSnapshot is wrapped by Restore when a snapshot does not fit the definition or is corrupt.
var ErrSnapshot = errors.New("invalid execution snapshot")

// Snapshots are the durable form of an Execution between two Steps: the engine stores one with
// every committed transition. They are JSON, so a stored execution can be read by a person, and
// JSON values inside keep their key order and number text (they are written with jsonv).

type snapExecution struct {
	ID          Identity           `json:"id"`
	Status      Status             `json:"status"`
	Output      *string            `json:"output,omitempty"`
	Error       *string            `json:"error,omitempty"`
	Cause       *string            `json:"cause,omitempty"`
	Input       string             `json:"input"`
	NextEventID int64              `json:"nextEventId"`
	NextSeq     int64              `json:"nextSeq"`
	Rand        uint64             `json:"rand"`
	Root        int64              `json:"root,omitempty"`
	Threads     []snapThread       `json:"threads,omitempty"`
	Tasks       map[string]int64   `json:"tasks,omitempty"`
	Timers      map[string]snapRef `json:"timers,omitempty"`
	MapRuns     []snapMapRun       `json:"mapRuns,omitempty"`
	Invocations map[string]int64   `json:"invocations,omitempty"`
}

// snapMapRun is a Map Run's record. Its items are [state, start, stop, events], with
// [redrives, redriveDate, waiting] before events for an item whose child execution was (or
// waits to be) redriven: the state an iterState, the times milliseconds after the run's start,
// plus one (0: none), waiting 1 or 0, events the id of the child's last history event; items
// not started at the end are left out. Older snapshots have no events: [state, start, stop]
// and [state, start, stop, redrives, redriveDate, waiting]. A Map over many items keeps its
// record after it ends, so it is kept small. Outputs, by item, are kept while the Map Run
// failed or was aborted, for a redrive: those of the items that succeeded. A redrive count
// and date absent (older snapshots) are none.
type snapMapRun struct {
	Arn           string       `json:"arn"`
	Label         string       `json:"label"`
	ExecutionType string       `json:"executionType"`
	Status        MapRunStatus `json:"status"`
	Start         int64        `json:"start"`
	Stop          int64        `json:"stop,omitempty"`
	MaxConc       int          `json:"maxConcurrency,omitempty"`
	TolCount      float64      `json:"tolCount"`
	TolPct        float64      `json:"tolPct"`
	Updates       int64        `json:"updates,omitempty"`
	RedriveCount  int64        `json:"redriveCount,omitempty"`
	RedriveDate   int64        `json:"redriveDate,omitempty"`
	Total         int          `json:"total"`
	Iters         [][]int64    `json:"items,omitempty"`
	Outputs       []snapValue  `json:"outputs,omitempty"`
	// Resume holds, by item index, where the redriven child executions not yet started
	// resume (mapIter.resume).
	Resume map[int]*snapPoint `json:"resume,omitempty"`
}

// snapPoint is a redrivePoint.
type snapPoint struct {
	State     string               `json:"state"`
	Input     snapValue            `json:"input"`
	Vars      map[string]snapValue `json:"vars,omitempty"`
	Outputs   map[int]snapValue    `json:"outputs,omitempty"`
	Children  map[int]*snapPoint   `json:"children,omitempty"`
	Resumed   bool                 `json:"resumed,omitempty"`
	MapRunArn string               `json:"mapRunArn,omitempty"`
}

func (x *Execution) snapshotPoint(p *redrivePoint) *snapPoint {
	s := &snapPoint{State: p.state, Input: x.snapValue(p.input), Resumed: p.resumed, MapRunArn: p.mapRunArn}
	if len(p.vars) > 0 {
		s.Vars = make(map[string]snapValue, len(p.vars))
		for k, v := range p.vars {
			s.Vars[k] = x.snapValue(v)
		}
	}
	if len(p.outputs) > 0 {
		s.Outputs = make(map[int]snapValue, len(p.outputs))
		for i, v := range p.outputs {
			s.Outputs[i] = x.snapValue(v)
		}
	}
	if len(p.children) > 0 {
		s.Children = make(map[int]*snapPoint, len(p.children))
		for i, c := range p.children {
			s.Children[i] = x.snapshotPoint(c)
		}
	}
	return s
}

func (x *Execution) restorePoint(s *snapPoint) (*redrivePoint, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: an empty redrive point", ErrSnapshot)
	}
	p := &redrivePoint{state: s.State, resumed: s.Resumed, mapRunArn: s.MapRunArn}
	var err error
	if p.input, err = x.restoreValue(s.Input); err != nil {
		return nil, fmt.Errorf("%w: redrive point %s: %w", ErrSnapshot, s.State, err)
	}
	if len(s.Vars) > 0 {
		p.vars = make(map[string]jsonv.Value, len(s.Vars))
		for k, v := range s.Vars {
			if p.vars[k], err = x.restoreValue(v); err != nil {
				return nil, fmt.Errorf("%w: redrive point %s: variable %s: %w", ErrSnapshot, s.State, k, err)
			}
		}
	}
	if len(s.Outputs) > 0 {
		p.outputs = make(map[int]jsonv.Value, len(s.Outputs))
		for i, v := range s.Outputs {
			if p.outputs[i], err = x.restoreValue(v); err != nil {
				return nil, fmt.Errorf("%w: redrive point %s: output %d: %w", ErrSnapshot, s.State, i, err)
			}
		}
	}
	if len(s.Children) > 0 {
		p.children = make(map[int]*redrivePoint, len(s.Children))
		for i, c := range s.Children {
			if p.children[i], err = x.restorePoint(c); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func (x *Execution) snapshotMapRun(mr *mapRun) snapMapRun {
	s := snapMapRun{Arn: mr.arn, Label: mr.label, ExecutionType: mr.executionType, Status: mr.status,
		Start: mr.start.UnixMilli(), MaxConc: mr.maxConc, TolCount: mr.tolCount, TolPct: mr.tolPct,
		Updates: mr.updates, RedriveCount: mr.redriveCount, Total: len(mr.iters)}
	if !mr.stop.IsZero() {
		s.Stop = mr.stop.UnixMilli()
	}
	if !mr.redriveDate.IsZero() {
		s.RedriveDate = mr.redriveDate.UnixMilli()
	}
	n := len(mr.iters)
	for n > 0 && mr.iters[n-1].state == iterPending {
		n--
	}
	s.Iters = make([][]int64, n)
	for i, it := range mr.iters[:n] {
		s.Iters[i] = []int64{int64(it.state), offsetMilli(mr.start, it.start), offsetMilli(mr.start, it.stop)}
		if it.redrives > 0 || it.waiting {
			waiting := int64(0)
			if it.waiting {
				waiting = 1
			}
			s.Iters[i] = append(s.Iters[i], it.redrives, offsetMilli(mr.start, it.redriveDate), waiting)
		}
		if it.events > 0 {
			s.Iters[i] = append(s.Iters[i], it.events)
		}
		if it.resume != nil {
			if s.Resume == nil {
				s.Resume = map[int]*snapPoint{}
			}
			s.Resume[i] = x.snapshotPoint(it.resume)
		}
	}
	// While the Map Run runs, its outputs are its fan-out's, kept with the thread.
	if mr.status == MapRunFailed || mr.status == MapRunAborted {
		last := -1
		for i := range min(n, len(mr.results)) {
			if mr.iters[i].state == iterSucceeded {
				last = i
			}
		}
		if last >= 0 {
			s.Outputs = make([]snapValue, last+1)
			for i := range s.Outputs {
				if mr.iters[i].state == iterSucceeded {
					s.Outputs[i] = x.snapValue(mr.results[i]) // JSON null is "null", not none
				}
			}
		}
	}
	return s
}

func offsetMilli(base, t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Sub(base).Milliseconds() + 1
}

func (x *Execution) restoreMapRun(s *snapMapRun) (*mapRun, error) {
	if len(s.Iters) > s.Total || len(s.Outputs) > s.Total {
		return nil, fmt.Errorf("%w: map run %s has %d items of %d", ErrSnapshot, s.Arn, max(len(s.Iters), len(s.Outputs)), s.Total)
	}
	mr := &mapRun{arn: s.Arn, label: s.Label, executionType: s.ExecutionType, status: s.Status,
		start: time.UnixMilli(s.Start).UTC(), maxConc: s.MaxConc, tolCount: s.TolCount, tolPct: s.TolPct,
		updates: s.Updates, redriveCount: s.RedriveCount, iters: make([]mapIter, s.Total)}
	if s.Stop != 0 {
		mr.stop = time.UnixMilli(s.Stop).UTC()
	}
	if s.RedriveDate != 0 {
		mr.redriveDate = time.UnixMilli(s.RedriveDate).UTC()
	}
	at := func(off int64) time.Time {
		if off == 0 {
			return time.Time{}
		}
		return mr.start.Add(time.Duration(off-1) * time.Millisecond)
	}
	for i, it := range s.Iters {
		if len(it) < 3 || len(it) > 7 || len(it) == 5 {
			return nil, fmt.Errorf("%w: map run %s: item %d has %d fields", ErrSnapshot, s.Arn, i, len(it))
		}
		if it[0] < int64(iterPending) || it[0] > int64(iterTimedOut) {
			return nil, fmt.Errorf("%w: map run %s: item %d in state %d", ErrSnapshot, s.Arn, i, it[0])
		}
		mr.iters[i] = mapIter{state: iterState(it[0]), start: at(it[1]), stop: at(it[2])}
		if len(it) >= 6 {
			mr.iters[i].redrives, mr.iters[i].redriveDate, mr.iters[i].waiting = it[3], at(it[4]), it[5] != 0
		}
		if len(it) == 4 || len(it) == 7 {
			mr.iters[i].events = it[len(it)-1]
		}
	}
	for i, sp := range s.Resume {
		if i < 0 || i >= len(mr.iters) || !mr.iters[i].waiting {
			return nil, fmt.Errorf("%w: map run %s: a redrive point for item %d, which waits for none", ErrSnapshot, s.Arn, i)
		}
		p, err := x.restorePoint(sp)
		if err != nil {
			return nil, err
		}
		mr.iters[i].resume = p
	}
	if len(s.Outputs) > 0 {
		mr.results = make([]jsonv.Value, s.Total)
		for i, v := range s.Outputs {
			var err error
			if mr.results[i], err = x.restoreValue(v); err != nil {
				return nil, fmt.Errorf("%w: map run %s: output %d: %w", ErrSnapshot, s.Arn, i, err)
			}
		}
	}
	return mr, nil
}

type snapRef struct {
	Kind   timerKind `json:"k"`
	Thread int64     `json:"t,omitempty"`
}

// snapStep locates a nested machine: the state that holds it and the branch index (-1 for a
// Map's processor).
type snapStep struct {
	State  string `json:"s"`
	Branch int    `json:"b"`
}

type snapThread struct {
	ID          int64      `json:"id"`
	Parent      int64      `json:"parent,omitempty"`
	Machine     []snapStep `json:"machine,omitempty"`
	Index       int64      `json:"index,omitempty"`
	Isolated    bool       `json:"isolated,omitempty"`
	Prev        int64      `json:"prev"`
	State       string     `json:"state,omitempty"`
	Input       snapValue  `json:"input"`
	Effective   snapValue  `json:"effective"`
	Entered     int64      `json:"entered"`
	EnteredPrev int64      `json:"enteredPrev,omitempty"`
	EnteredTime time.Time  `json:"enteredTime"`
	Attempts    []int64    `json:"attempts,omitempty"`
	RetryCount  int64      `json:"retryCount,omitempty"`
	Waiting     waitKind   `json:"waiting,omitempty"`
	TaskID      string     `json:"taskId,omitempty"`
	Task        *snapTask  `json:"task,omitempty"`
	TimerID     string     `json:"timerId,omitempty"`
	ChildTimer  string     `json:"childTimer,omitempty"`
	ChildInput  *snapValue `json:"childInput,omitempty"`
	Fan         *snapFan   `json:"fan,omitempty"`
	// Vars are the variables the thread assigned (see thread.vars).
	Vars map[string]snapValue `json:"vars,omitempty"`
}

type snapTask struct {
	Started    bool      `json:"started,omitempty"`
	Submitted  bool      `json:"submitted,omitempty"`
	Timeout    int64     `json:"timeout,omitempty"`
	Heartbeat  int64     `json:"heartbeat,omitempty"`
	HBTimerID  string    `json:"hbTimer,omitempty"`
	TOTimerID  string    `json:"toTimer,omitempty"`
	Parameters snapValue `json:"parameters"`
	Scheduled  time.Time `json:"scheduled,omitzero"`
}

type snapFan struct {
	Parallel  bool        `json:"parallel,omitempty"`
	Items     []snapValue `json:"items,omitempty"`
	Results   []snapValue `json:"results"`
	NextIndex int         `json:"next,omitempty"`
	Running   int         `json:"running,omitempty"`
	Completed int         `json:"completed,omitempty"`
	Failed    int64       `json:"failed,omitempty"`
	MaxConc   int         `json:"maxConcurrency,omitempty"`
	TolCount  float64     `json:"tolCount"`
	TolPct    float64     `json:"tolPct"`
	Children  []int64     `json:"children,omitempty"`
	LastEvent int64       `json:"lastEvent"`
	MapRunArn string      `json:"mapRunArn,omitempty"`
	IO        *snapIO     `json:"io,omitempty"`
	// Groups are the groups of children that run as tasks, by task id (see childgroup.go).
	Groups map[string][]int `json:"groups,omitempty"`
}

// snapValue is a JSON value; Input marks the execution input itself, whose identity matters
// for keeping its original text (see jsonv.AppendKeeping).
type snapValue struct {
	V     json.RawMessage `json:"v,omitempty"`
	Input bool            `json:"in,omitempty"`
}

func (x *Execution) snapValue(v jsonv.Value) snapValue {
	if x.inputKept && jsonv.Same(v, x.input) {
		return snapValue{Input: true}
	}
	return snapValue{V: json.RawMessage(jsonv.String(v))}
}

func (x *Execution) restoreValue(s snapValue) (jsonv.Value, error) {
	if s.Input {
		return x.input, nil
	}
	if len(s.V) == 0 {
		return nil, nil
	}
	return jsonv.Parse(s.V)
}

// Snapshot encodes the execution's state. It is called between Steps, never during one.
func (x *Execution) Snapshot() ([]byte, error) {
	s := snapExecution{
		ID: x.ID, Status: x.Status, Output: x.Output, Error: x.Error, Cause: x.Cause,
		Input: x.inputText, NextEventID: x.nextEventID, NextSeq: x.nextSeq, Rand: x.rand,
		Invocations: x.invocations,
	}
	if x.root != nil && !x.root.done {
		s.Root = x.root.id
	}
	paths := map[*asl.Machine][]snapStep{&x.Def.Machine: nil}
	indexMachines(&x.Def.Machine, nil, paths)
	for _, th := range x.threads {
		st := snapThread{
			ID: th.id, Machine: paths[th.machine], Index: th.index, Isolated: th.isolated,
			Prev: th.prev, Input: x.snapValue(th.input), Effective: x.snapValue(th.effective), Entered: th.entered,
			EnteredPrev: th.enteredPrev, EnteredTime: th.enteredTime, Attempts: th.attempts, RetryCount: th.retryCount,
			Waiting: th.waiting, TaskID: th.taskID, TimerID: th.timerID, ChildTimer: th.childTimer,
		}
		if th.hasChildInput {
			v := x.snapValue(th.childInput)
			st.ChildInput = &v
		}
		if len(th.vars) > 0 {
			st.Vars = make(map[string]snapValue, len(th.vars))
			for name, v := range th.vars {
				st.Vars[name] = x.snapValue(v)
			}
		}
		if th.parent != nil {
			st.Parent = th.parent.id
		}
		if th.state != nil {
			st.State = th.state.Name
		}
		if t := th.task; t != nil {
			st.Task = &snapTask{Started: t.started, Submitted: t.submitted, Timeout: t.timeout, Heartbeat: t.heartbeat,
				HBTimerID: t.hbTimerID, TOTimerID: t.toTimerID, Parameters: x.snapValue(t.parameters), Scheduled: t.scheduled}
		}
		if f := th.fan; f != nil {
			sf := &snapFan{Parallel: f.parallel, NextIndex: f.nextIndex, Running: f.running,
				Completed: f.completed, Failed: f.failed, MaxConc: f.maxConc, TolCount: f.tolCount,
				TolPct: f.tolPct, LastEvent: f.lastEvent, MapRunArn: f.mapRunArn}
			for _, it := range f.items {
				sf.Items = append(sf.Items, x.snapValue(it))
			}
			for _, r := range f.results {
				sf.Results = append(sf.Results, x.snapValue(r))
			}
			for id := range f.children {
				sf.Children = append(sf.Children, id)
			}
			sf.IO = x.snapshotIO(f)
			sf.Groups = f.groups
			st.Fan = sf
		}
		s.Threads = append(s.Threads, st)
	}
	for _, mr := range x.mapRuns {
		s.MapRuns = append(s.MapRuns, x.snapshotMapRun(mr))
	}
	if len(x.tasks) > 0 {
		s.Tasks = make(map[string]int64, len(x.tasks))
		for id, th := range x.tasks {
			s.Tasks[id] = th.id
		}
	}
	if len(x.timers) > 0 {
		s.Timers = make(map[string]snapRef, len(x.timers))
		for id, ref := range x.timers {
			s.Timers[id] = snapRef{Kind: ref.kind, Thread: ref.thread}
		}
	}
	return json.Marshal(&s)
}

// indexMachines records the location of every nested machine below m.
func indexMachines(m *asl.Machine, at []snapStep, paths map[*asl.Machine][]snapStep) {
	for _, name := range m.Order {
		st := m.States[name]
		switch {
		case st.Parallel != nil:
			for i, b := range st.Parallel.Branches {
				p := append(append([]snapStep(nil), at...), snapStep{State: name, Branch: i})
				paths[b] = p
				indexMachines(b, p, paths)
			}
		case st.Map != nil:
			p := append(append([]snapStep(nil), at...), snapStep{State: name, Branch: -1})
			paths[st.Map.Processor] = p
			indexMachines(st.Map.Processor, p, paths)
		}
	}
}

func resolveMachine(def *asl.StateMachine, at []snapStep) (*asl.Machine, error) {
	m := &def.Machine
	for _, s := range at {
		st := m.States[s.State]
		switch {
		case st == nil:
			return nil, fmt.Errorf("%w: no state %q", ErrSnapshot, s.State)
		case s.Branch < 0 && st.Map != nil:
			m = st.Map.Processor
		case st.Parallel != nil && s.Branch >= 0 && s.Branch < len(st.Parallel.Branches):
			m = st.Parallel.Branches[s.Branch]
		default:
			return nil, fmt.Errorf("%w: state %q has no branch %d", ErrSnapshot, s.State, s.Branch)
		}
	}
	return m, nil
}

// Restore rebuilds an execution from a snapshot taken with the same definition.
func Restore(def *asl.StateMachine, data []byte) (*Execution, error) {
	var s snapExecution
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	in, err := jsonv.ParseString(s.Input)
	if err != nil {
		return nil, fmt.Errorf("%w: input: %w", ErrSnapshot, err)
	}
	x := &Execution{
		Def: def, ID: s.ID, Status: s.Status, Output: s.Output, Error: s.Error, Cause: s.Cause,
		input: in, inputText: s.Input, nextEventID: s.NextEventID, nextSeq: s.NextSeq, rand: s.Rand,
		threads: map[int64]*thread{}, tasks: map[string]*thread{}, timers: map[string]timerRef{},
		invocations: s.Invocations,
	}
	switch in.(type) {
	case *jsonv.Object, []jsonv.Value:
		x.inputKept = jsonv.String(in) != s.Input
	}
	var runs map[string]*mapRun // by ARN, for the fan-outs of distributed Maps below
	if len(s.MapRuns) > 0 {
		runs = make(map[string]*mapRun, len(s.MapRuns))
	}
	for i := range s.MapRuns {
		mr, err := x.restoreMapRun(&s.MapRuns[i])
		if err != nil {
			return nil, err
		}
		x.mapRuns = append(x.mapRuns, mr)
		runs[mr.arn] = mr
	}
	for i := range s.Threads {
		st := &s.Threads[i]
		th := &thread{id: st.ID, index: st.Index, isolated: st.Isolated, prev: st.Prev,
			entered: st.Entered, enteredPrev: st.EnteredPrev, enteredTime: st.EnteredTime, attempts: st.Attempts,
			retryCount: st.RetryCount, waiting: st.Waiting, taskID: st.TaskID, timerID: st.TimerID,
			childTimer: st.ChildTimer}
		if len(st.Vars) > 0 {
			th.vars = make(map[string]jsonv.Value, len(st.Vars))
			for name, sv := range st.Vars {
				if th.vars[name], err = x.restoreValue(sv); err != nil {
					return nil, fmt.Errorf("%w: variable %s: %w", ErrSnapshot, name, err)
				}
			}
		}
		if th.machine, err = resolveMachine(def, st.Machine); err != nil {
			return nil, err
		}
		if st.State != "" {
			if th.state = th.machine.States[st.State]; th.state == nil {
				return nil, fmt.Errorf("%w: no state %q", ErrSnapshot, st.State)
			}
		}
		if th.input, err = x.restoreValue(st.Input); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
		if th.effective, err = x.restoreValue(st.Effective); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
		if st.ChildInput != nil {
			if th.childInput, err = x.restoreValue(*st.ChildInput); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
			th.hasChildInput = true
		}
		if st.Task != nil {
			if th.state == nil || th.state.Task == nil {
				return nil, fmt.Errorf("%w: thread %d waits on a task outside a Task state", ErrSnapshot, st.ID)
			}
			t := classify(th.state.Task.Resource)
			t.started, t.timeout, t.heartbeat, t.hbTimerID, t.toTimerID = st.Task.Started, st.Task.Timeout, st.Task.Heartbeat, st.Task.HBTimerID, st.Task.TOTimerID
			t.submitted, t.scheduled = st.Task.Submitted, st.Task.Scheduled
			if t.parameters, err = x.restoreValue(st.Task.Parameters); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
			th.task = &t
		}
		if sf := st.Fan; sf != nil {
			f := &fanOut{parallel: sf.Parallel, nextIndex: sf.NextIndex, running: sf.Running,
				completed: sf.Completed, failed: sf.Failed, maxConc: sf.MaxConc, tolCount: sf.TolCount,
				tolPct: sf.TolPct, lastEvent: sf.LastEvent, mapRunArn: sf.MapRunArn, run: runs[sf.MapRunArn],
				children: map[int64]*thread{}, groups: sf.Groups}
			for _, v := range sf.Items {
				it, err := x.restoreValue(v)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
				}
				f.items = append(f.items, it)
			}
			f.results = make([]jsonv.Value, len(sf.Results))
			for i, v := range sf.Results {
				if f.results[i], err = x.restoreValue(v); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
				}
			}
			for id, idx := range f.groups {
				for _, i := range idx {
					if f.run == nil || i < 0 || i >= len(f.run.iters) || i >= len(f.results) {
						return nil, fmt.Errorf("%w: group %s has no item %d", ErrSnapshot, id, i)
					}
				}
			}
			if err := x.restoreIO(f, sf.IO); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
			if f.run != nil && f.run.status == MapRunRunning {
				f.run.results = f.results // the running Map Run's outputs are its fan-out's
			}
			th.fan = f
		}
		x.threads[th.id] = th
	}
	for i := range s.Threads {
		st := &s.Threads[i]
		th := x.threads[st.ID]
		if st.Parent != 0 {
			if th.parent = x.threads[st.Parent]; th.parent == nil {
				return nil, fmt.Errorf("%w: thread %d has no parent %d", ErrSnapshot, st.ID, st.Parent)
			}
		}
		if st.Fan != nil {
			for _, id := range st.Fan.Children {
				c := x.threads[id]
				if c == nil {
					return nil, fmt.Errorf("%w: thread %d has no child %d", ErrSnapshot, st.ID, id)
				}
				th.fan.children[id] = c
			}
		}
	}
	for _, th := range x.threads {
		th.child = childOf(th)
	}
	if s.Root != 0 {
		x.root = x.threads[s.Root]
	}
	for id, tid := range s.Tasks {
		th := x.threads[tid]
		if th == nil {
			return nil, fmt.Errorf("%w: task %s of unknown thread %d", ErrSnapshot, id, tid)
		}
		x.tasks[id] = th
	}
	for id, ref := range s.Timers {
		x.timers[id] = timerRef{kind: ref.Kind, thread: ref.Thread}
	}
	return x, nil
}

// childOf finds the Map Run child execution a restored thread runs in: that of its nearest
// isolated ancestor (or itself), the item of its parent's Map Run. Snapshots do not keep it.
func childOf(th *thread) *childRef {
	for t := th; t != nil; t = t.parent {
		if t.child != nil {
			return t.child
		}
		if t.isolated && t.parent != nil && t.parent.fan != nil && t.parent.fan.run != nil {
			t.child = &childRef{run: t.parent.fan.run, index: int(t.index)}
			return t.child
		}
	}
	return nil
}
