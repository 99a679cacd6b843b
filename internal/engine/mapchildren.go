package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/inproc"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// A Map Run's EXPRESS children reach the engine as groups, tasks of interp.MapChildrenResource
// that any node claims from the outbox like any task: the node that claims one runs its
// children in memory, each as an Express execution of the Map's ItemProcessor, and hands their
// outcomes back to the parent through its inbox. The parent's execution and its children may
// so run on different nodes, and a node that dies with a group has it run again elsewhere once
// its claim lapses (at least once, as AWS runs Express children).

// groupParams are the parameters of a group task (see interp.MapChildrenResource).
type groupParams struct {
	StateMachineName string
	RoleArn          string
	Children         []struct {
		Index        int
		ExecutionArn string
		Name         string
		StartTime    string
		Input        json.RawMessage
	}
}

// childOutcome is how one child of a group ended.
type childOutcome struct {
	Index  int
	Status interp.Status
	Output json.RawMessage `json:",omitempty"`
	Error  *string         `json:",omitempty"`
	Cause  *string         `json:",omitempty"`
}

// runMapChildren runs the children of group task t at once and answers their outcomes.
func (e *Engine) runMapChildren(ctx context.Context, t *Task) (string, error) {
	var p groupParams
	if err := json.Unmarshal([]byte(t.Parameters), &p); err != nil {
		return "", &TaskError{Name: sferr.Runtime, Cause: "the group of child executions is unreadable: " + err.Error()}
	}
	def, err := e.processor(ctx, t.ExecutionArn, t.StateName)
	if err != nil {
		return "", &TaskError{Name: sferr.Runtime, Cause: err.Error()}
	}
	outcomes := make([]childOutcome, len(p.Children))
	var wg sync.WaitGroup
	for k := range p.Children {
		wg.Go(func() {
			c := &p.Children[k]
			start, _ := time.Parse(time.RFC3339Nano, c.StartTime)
			outcomes[k] = e.runMapChild(ctx, def, &p, c.Index, c.ExecutionArn, c.Name, start, c.Input)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return "", err // the engine stops: the group runs again, here or elsewhere
	}
	e.o.Metrics.mapChildren.Add(int64(len(p.Children)))
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // outputs stay as the children wrote them
	if err := enc.Encode(struct{ Children []childOutcome }{outcomes}); err != nil {
		return "", fmt.Errorf("engine: encoding a group's outcomes: %w", err)
	}
	return b.String(), nil
}

// runMapChild runs one child execution of a group, on the engine's clock and wait scale, at
// most interp.ExpressMaxDuration of wall-clock time.
func (e *Engine) runMapChild(ctx context.Context, def *asl.StateMachine, p *groupParams, index int, arn, name string, start time.Time, input json.RawMessage) childOutcome {
	ctx, cancel := context.WithTimeout(ctx, interp.ExpressMaxDuration)
	defer cancel()
	res, err := inproc.Run(ctx, inproc.Options{
		Definition: def, Input: string(input), StateMachineName: p.StateMachineName, ExecutionName: name,
		ExecutionArn: arn, StartTime: start, RoleArn: p.RoleArn, Type: asl.Express, Account: e.o.Account, Region: e.o.Region,
		Clock: e.o.Clock, WaitScale: e.o.WaitScale, RunTask: inprocTask(e.o.Runner, arn, nil),
	})
	out := childOutcome{Index: index}
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		out.Status, out.Error = interp.TimedOut, new(sferr.Timeout)
	case err != nil:
		out.Status, out.Error, out.Cause = interp.Failed, new(sferr.Runtime), new(err.Error())
	default:
		out.Status, out.Error, out.Cause = res.Status, res.Error, res.Cause
		if res.Output != nil {
			out.Output = json.RawMessage(*res.Output)
		}
		e.o.Metrics.transitions.Add(int64(countTransitions(interp.Result{Events: res.Events})))
	}
	return out
}

// processor returns the ItemProcessor of state, a distributed Map of execution's definition, as
// a state machine, parsing the definition once.
func (e *Engine) processor(ctx context.Context, execution, state string) (*asl.StateMachine, error) {
	ex, err := e.o.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: execution})
	if err != nil {
		return nil, fmt.Errorf("engine: the execution of a group of child executions: %w", err)
	}
	key := revisionKey(ex.StateMachineArn, ex.RevisionID) + "\x00" + state
	e.defsMu.Lock()
	proc := e.defs[key]
	e.defsMu.Unlock()
	if proc != nil {
		return proc, nil
	}
	def := e.cachedDefinition(ex.StateMachineArn, ex.RevisionID)
	if def == nil {
		sm, err := e.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: ex.StateMachineArn, RevisionID: ex.RevisionID})
		if err != nil {
			return nil, fmt.Errorf("engine: the state machine of a group of child executions: %w", err)
		}
		if def, err = e.Definition(sm); err != nil {
			return nil, err
		}
	}
	if proc, err = interp.ProcessorMachine(def, state); err != nil {
		return nil, err
	}
	e.defsMu.Lock()
	e.defs[key] = proc
	e.defsMu.Unlock()
	return proc, nil
}
