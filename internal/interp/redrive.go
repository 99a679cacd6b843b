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
	Type    string `json:"type"`
	Entered *struct {
		Name  string  `json:"name"`
		Input *string `json:"input"`
	} `json:"stateEnteredEventDetails"`
	Exited *struct {
		Name     string            `json:"name"`
		Assigned map[string]string `json:"assignedVariables"`
	} `json:"stateExitedEventDetails"`
}

// Redrive resumes an execution that ended FAILED, TIMED_OUT or ABORTED (its final snapshot)
// from the top-level state it was in when it ended, with that state's original input and the
// variables the top level had assigned, after an ExecutionRedriven event. events is the
// execution's history as the engine stores it (GetExecutionHistory's JSON with execution
// data), oldest first: the snapshot of an ended execution keeps no threads, so the history is
// where the point of failure is read.
//
// The state is run again whole: a Parallel or Map re-runs all its branches or iterations, not
// only those that failed.
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
	state, input, vars, err := redrivePoint(def, events)
	if err != nil {
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
	x.root = r.newThread(nil, &def.Machine, input, 0)
	x.root.prev = redriven
	x.root.vars = vars
	r.enter(x.root, state, input)
	r.drain()
	return x, r.result(), nil
}

// redrivePoint finds the last top-level state entered, its input, and the variables the top
// level assigned before it. State names are unique across a whole definition, so a name of
// the top-level machine identifies the top level's events among those of branches and
// iterations.
func redrivePoint(def *asl.StateMachine, events [][]byte) (string, jsonv.Value, map[string]jsonv.Value, error) {
	var state string
	var input jsonv.Value
	vars := map[string]jsonv.Value{}
	for _, b := range events {
		var ev redriveEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			return "", nil, nil, fmt.Errorf("interp: reading history for a redrive: %w", err)
		}
		switch {
		case ev.Entered != nil && def.Machine.States[ev.Entered.Name] != nil:
			if ev.Entered.Input == nil {
				return "", nil, nil, fmt.Errorf("%w: the input of state %s is not in its history", ErrNotRedrivable, ev.Entered.Name)
			}
			v, err := jsonv.ParseString(*ev.Entered.Input)
			if err != nil {
				return "", nil, nil, fmt.Errorf("interp: input of state %s: %w", ev.Entered.Name, err)
			}
			state, input = ev.Entered.Name, v
		case ev.Exited != nil && def.Machine.States[ev.Exited.Name] != nil:
			for name, text := range ev.Exited.Assigned {
				v, err := jsonv.ParseString(text)
				if err != nil {
					return "", nil, nil, fmt.Errorf("interp: variable %s: %w", name, err)
				}
				vars[name] = v
			}
		}
	}
	if state == "" {
		return "", nil, nil, fmt.Errorf("%w: no state was entered", ErrNotRedrivable)
	}
	if len(vars) == 0 {
		vars = nil
	}
	return state, input, vars, nil
}
