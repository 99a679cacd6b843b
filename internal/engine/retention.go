package engine

import (
	"context"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// DefaultRetention is how long AWS keeps an execution after it ended, and keeps its name taken
// for the state machine.
const DefaultRetention = 90 * 24 * time.Hour

// sweepBatch bounds the executions one delete removes, so that a sweep never holds the store's
// writer for long.
const sweepBatch = 500

// sweepLoop deletes the executions that ended more than Retention ago, every SweepInterval.
// Like the poll interval, the interval is wall time; the age is on the engine's clock. Any
// node may sweep: each delete takes its own rows.
func (e *Engine) sweepLoop(ctx context.Context) {
	t := time.NewTicker(e.o.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		before := e.o.Clock.Now().UTC().Add(-e.o.Retention)
		for {
			n, err := e.o.Store.ExecutionDeleteClosed(ctx, &store.ExecutionDeleteClosedParams{Before: before, Limit: sweepBatch})
			if err != nil {
				if ctx.Err() == nil {
					e.log.Warn("deleting executions past their retention", "err", err)
				}
				break
			}
			if n > 0 {
				e.log.Info("deleted executions past their retention", "executions", n, "ended_before", before)
			}
			if n < sweepBatch {
				break
			}
		}
	}
}
