package interp

import (
	"encoding/json"
	"errors"
	"fmt"
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
	Iteration *struct {
		Name  string `json:"name"`
		Index int    `json:"index"`
	} `json:"mapIterationSucceededEventDetails"`
}

// redriveSeed is what a redriven Parallel or Map keeps of its last run: the outputs of the
// branches or iterations that succeeded, by index, which it does not run again.
type redriveSeed struct {
	state   string
	outputs map[int]jsonv.Value
}

// seedRedrive gives a top-level Parallel or Map that a redrive re-enters the outputs its
// branches or iterations had, once. An output of JSON null cannot be told from "not run", so
// such a branch runs again.
func (r *run) seedRedrive(th *thread) {
	seed := r.x.redone
	if seed == nil || th.parent != nil || th.state.Name != seed.state {
		return
	}
	r.x.redone = nil
	for i, out := range seed.outputs {
		if i < len(th.fan.results) && out != nil {
			th.fan.results[i] = out
			th.fan.completed++
		}
	}
}

// Redrive resumes an execution that ended FAILED, TIMED_OUT or ABORTED (its final snapshot)
// from the top-level state it was in when it ended, with that state's original input and the
// variables the top level had assigned, after an ExecutionRedriven event. events is the
// execution's history as the engine stores it (GetExecutionHistory's JSON with execution
// data), oldest first: the snapshot of an ended execution keeps no threads, so the history is
// where the point of failure is read.
//
// A Parallel or Map state runs again only the branches or iterations that did not succeed;
// the others keep the outputs they had.
func Redrive(def *asl.StateMachine, snapshot []byte, events [][]byte, now time.Time) (*Execution, Result, error) {
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
	state, input, vars, seed, err := redrivePoint(def, events)
	if err != nil {
		return nil, Result{}, fmt.Errorf("execution %s: %w", x.ID.ExecutionArn, err)
	}
	x.redone = seed
	x.Status, x.Output, x.Error, x.Cause = Running, nil, nil, nil
	x.ID.RedriveCount++
	r := &run{x: x, now: now}
	count := x.ID.RedriveCount
	redriven := r.emit("ExecutionRedriven", x.nextEventID, history.Details{RedriveCount: &count})
	if def.TimeoutSeconds > 0 {
		r.startTimer(timerRef{kind: timerExecution}, now.Add(time.Duration(def.TimeoutSeconds)*time.Second))
	}
	x.root = r.newThread(nil, &def.Machine, input, 0)
	x.root.prev = redriven
	x.root.vars = vars
	r.enter(x.root, state, input)
	r.drain()
	x.redone = nil
	return x, r.result(), nil
}

// redrivePoint finds the last top-level state entered, its input, the variables the top level
// assigned before it, and, for a Parallel or Map, what its branches or iterations returned.
// State names are unique across a whole definition, so a name of the top-level machine
// identifies the top level's events among those of branches and iterations.
func redrivePoint(def *asl.StateMachine, events [][]byte) (string, jsonv.Value, map[string]jsonv.Value, *redriveSeed, error) {
	var state string
	var input jsonv.Value
	var since int // index of the events after the last top-level state was entered
	vars := map[string]jsonv.Value{}
	evs := make([]redriveEvent, len(events))
	for k, b := range events {
		ev := &evs[k]
		if err := json.Unmarshal(b, ev); err != nil {
			return "", nil, nil, nil, fmt.Errorf("interp: reading history for a redrive: %w", err)
		}
		switch {
		case ev.Entered != nil && def.Machine.States[ev.Entered.Name] != nil:
			if ev.Entered.Input == nil {
				return "", nil, nil, nil, fmt.Errorf("%w: the input of state %s is not in its history", ErrNotRedrivable, ev.Entered.Name)
			}
			v, err := jsonv.ParseString(*ev.Entered.Input)
			if err != nil {
				return "", nil, nil, nil, fmt.Errorf("interp: input of state %s: %w", ev.Entered.Name, err)
			}
			state, input, since = ev.Entered.Name, v, k+1
		case ev.Exited != nil && def.Machine.States[ev.Exited.Name] != nil:
			for name, text := range ev.Exited.Assigned {
				v, err := jsonv.ParseString(text)
				if err != nil {
					return "", nil, nil, nil, fmt.Errorf("interp: variable %s: %w", name, err)
				}
				vars[name] = v
			}
		}
	}
	if state == "" {
		return "", nil, nil, nil, fmt.Errorf("%w: no state was entered", ErrNotRedrivable)
	}
	if len(vars) == 0 {
		vars = nil
	}
	st := def.Machine.States[state]
	var outputs map[int]string
	switch {
	case st.Parallel != nil:
		outputs = branchOutputs(st.Parallel.Branches, evs[since:])
	case st.Map != nil:
		outputs = iterationOutputs(state, evs[since:])
	}
	if len(outputs) == 0 {
		return state, input, vars, nil, nil
	}
	seed := &redriveSeed{state: state, outputs: make(map[int]jsonv.Value, len(outputs))}
	for i, text := range outputs {
		v, err := jsonv.ParseString(text)
		if err != nil {
			return "", nil, nil, nil, fmt.Errorf("interp: output of %s's branch %d: %w", state, i, err)
		}
		seed.outputs[i] = v
	}
	return state, input, vars, seed, nil
}

// iterationOutputs returns the outputs of a Map's iterations that succeeded: the output of the
// event each MapIterationSucceeded follows, its iteration's last.
func iterationOutputs(state string, evs []redriveEvent) map[int]string {
	exited := map[int64]string{}
	out := map[int]string{}
	for _, ev := range evs {
		switch {
		case ev.Exited != nil && ev.Exited.Output != nil:
			exited[ev.ID] = *ev.Exited.Output
		case ev.Iteration != nil && ev.Iteration.Name == state:
			if text, ok := exited[ev.Prev]; ok {
				out[ev.Iteration.Index] = text
			}
		}
	}
	return out
}

// branchOutputs returns the outputs of a Parallel's branches that succeeded. History names no
// branch, but state names are unique: a branch succeeded when the last event of its top-level
// states is the exit of a terminal one.
func branchOutputs(branches []*asl.Machine, evs []redriveEvent) map[int]string {
	out := map[int]string{}
	for i, b := range branches {
		var last *redriveEvent
		for k := range evs {
			ev := &evs[k]
			if ev.Entered != nil && b.States[ev.Entered.Name] != nil || ev.Exited != nil && b.States[ev.Exited.Name] != nil {
				last = ev
			}
		}
		if last == nil || last.Exited == nil || last.Exited.Output == nil {
			continue
		}
		if st := b.States[last.Exited.Name]; st.End || st.Type == asl.Succeed {
			out[i] = *last.Exited.Output
		}
	}
	return out
}
