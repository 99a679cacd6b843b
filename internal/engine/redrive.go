package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// ErrNotRedrivable is wrapped by RedriveExecution when the execution cannot be redriven, or was
// redriven (or changed) by someone else first.
var ErrNotRedrivable = errors.New("engine: execution is not redrivable")

// RedriveExecution resumes an execution that ended FAILED, TIMED_OUT or ABORTED from the state
// it ended in (see interp.Redrive), and returns the redrive's date. x must carry its state
// (ExecutionGet with WithState) and sm the revision it runs. The redrive's first burst is
// committed at once, as StartExecution commits its; what it waits on is carried out by the
// engine's loop like any other execution's work. A clientToken is recorded with the redrive
// (store.ExecutionRedriveParams); one recorded already makes it fail with ErrNotRedrivable.
func (e *Engine) RedriveExecution(ctx context.Context, x *store.Execution, sm *store.StateMachine, clientToken string) (time.Time, error) {
	def, err := e.Definition(sm)
	if err != nil {
		return time.Time{}, err
	}
	events, err := e.history(ctx, x.Arn, false)
	if err != nil {
		return time.Time{}, err
	}
	children := func(arn string) ([][]byte, error) { return e.history(ctx, arn, true) }
	now := e.o.Clock.Now().UTC().Truncate(time.Millisecond)
	ix, res, err := interp.Redrive(def, x.State, events, children, now)
	if errors.Is(err, interp.ErrNotRedrivable) {
		return time.Time{}, fmt.Errorf("%w: %w", ErrNotRedrivable, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("engine: redriving %s: %w", x.Arn, err)
	}
	tr := &store.Transition{}
	if err := e.record(ix, res, now, tr, nil); err != nil {
		return time.Time{}, err
	}
	if ix.Status != interp.Running {
		e.finishTransition(ix, tr, now)
	}
	err = e.o.Store.ExecutionRedrive(ctx, &store.ExecutionRedriveParams{
		ExecutionArn: x.Arn, Version: x.Version, State: tr.State, Status: tr.Status,
		Output: tr.Output, Error: tr.Error, Cause: tr.Cause, StopDate: tr.StopDate, ClientToken: clientToken, Mutations: tr.Mutations,
	})
	if errors.Is(err, store.ErrConflict) {
		return time.Time{}, fmt.Errorf("%w: %w", ErrNotRedrivable, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("engine: redriving %s: %w", x.Arn, err)
	}
	e.logEvents(ctx, nil, &ix.ID, res.Events, res.Children)
	e.observe(&ix.ID, nil, res.Events)
	e.o.Metrics.transitions.Add(int64(countTransitions(res)))
	e.statusChanged(ix, true) // RUNNING again, with its redrive count
	if ix.Status != interp.Running {
		e.o.Metrics.finished(string(ix.Status))
	} else {
		e.poke()
	}
	return now, nil
}

// history reads the whole history of an execution, or of a Map Run child execution.
func (e *Engine) history(ctx context.Context, arn string, child bool) ([][]byte, error) {
	var events [][]byte
	for after := int64(0); ; {
		page, err := e.o.Store.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: arn, Child: child, After: after, Limit: store.MaxPageSize})
		if err != nil {
			return nil, fmt.Errorf("engine: reading the history of %s: %w", arn, err)
		}
		for _, ev := range page.Events {
			events = append(events, ev.Payload)
		}
		if after = page.NextAfter; after == 0 {
			return events, nil
		}
	}
}
