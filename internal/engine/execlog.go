package engine

import (
	"context"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// ExecutionLogger receives executions' history events once they are committed (an Express
// execution's step by step as it runs): execution logs in CloudWatch Logs' format (package
// logs, wired by the server), for state machines whose loggingConfiguration asks for them. It
// is called from the engine's loop, StartExecution, RedriveExecution and Express runs,
// concurrently; it decides what to write, and a failure to write is its own to report: it
// never fails the step, which is committed.
type ExecutionLogger interface {
	// LogEvents is given an execution's events with its identity, and those of its Map Run
	// child executions; sm is the revision it runs when the caller has it at hand
	// (StartExecution, Express executions), nil otherwise.
	LogEvents(ctx context.Context, sm *store.StateMachine, id *interp.Identity, events []history.Event, children []interp.ChildHistory)
	// LogCommitted is given the transitions of a round of the loop that were committed: their
	// events and those of their Map Run child executions, as the store keeps them (each
	// GetExecutionHistory's JSON of one event). A round's logs together cost one write a
	// stream, not one a transition, on the loop's path.
	LogCommitted(ctx context.Context, trs []*store.Transition)
}

// logEvents hands events to Options.ExecutionLogs, if set.
func (e *Engine) logEvents(ctx context.Context, sm *store.StateMachine, id *interp.Identity, events []history.Event, children []interp.ChildHistory) {
	if e.o.ExecutionLogs != nil && len(events)+len(children) > 0 {
		e.o.ExecutionLogs.LogEvents(ctx, sm, id, events, children)
	}
}

// logCommitted hands the events of a round's committed transitions to Options.ExecutionLogs;
// errs says which were not applied.
func (e *Engine) logCommitted(ctx context.Context, trs []*store.Transition, errs []error) {
	if e.o.ExecutionLogs == nil {
		return
	}
	committed := make([]*store.Transition, 0, len(trs))
	for i, tr := range trs {
		if errs[i] == nil && len(tr.Mutations.Events)+len(tr.Mutations.Children) > 0 {
			committed = append(committed, tr)
		}
	}
	if len(committed) > 0 {
		e.o.ExecutionLogs.LogCommitted(ctx, committed)
	}
}
