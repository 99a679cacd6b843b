package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// UpdateMapRun delivers a change of a running Map Run's settings to its execution, the way a
// stop request travels: through the execution's inbox, so that the node stepping the execution
// applies it (interp.UpdateMapRun) within a poll interval.
func (e *Engine) UpdateMapRun(ctx context.Context, executionArn string, u interp.UpdateMapRun) error {
	_, err := e.o.Store.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: executionArn, Payload: encodeMessage(updateMessage(u)), Now: e.o.Clock.Now()})
	if errors.Is(err, store.ErrExecutionNotRunning) {
		return fmt.Errorf("engine: %w: %s", ErrNotRunning, executionArn)
	}
	if err != nil {
		return fmt.Errorf("engine: updating a map run of %s: %w", executionArn, err)
	}
	e.poke()
	return nil
}

func updateMessage(u interp.UpdateMapRun) message {
	return message{Kind: msgUpdateMapRun, MapRun: &mapRunUpdate{Arn: u.MapRunArn, MaxConcurrency: u.MaxConcurrency,
		ToleratedFailureCount: u.ToleratedFailureCount, ToleratedFailurePercentage: u.ToleratedFailurePercentage}}
}
