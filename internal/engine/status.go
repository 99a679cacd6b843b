package engine

import (
	"time"

	"github.com/stepline/stepline/internal/interp"
)

// StatusObserver is told of every Standard execution's status changes once they are
// committed: RUNNING when it starts, then the status it ends with. EventBridge turns them into
// "Step Functions Execution Status Change" events. It is called from the engine's loop and
// from StartExecution, so it must return quickly (hand the change off) and never fail the
// step. A change committed just before the process dies is not reported: the report is made
// after the commit, not with it.
type StatusObserver interface {
	ExecutionStatusChanged(c StatusChange)
}

// StatusChange is one execution status change, with what AWS's status-change event carries.
type StatusChange struct {
	ExecutionArn    string
	StateMachineArn string
	Name            string
	Status          string
	StartDate       time.Time
	// StopDate is set once the execution ended.
	StopDate     *time.Time
	Input        string
	Output       *string
	Error, Cause *string
	RedriveCount int64
	// RedriveDate is set on the RUNNING change of a redrive.
	RedriveDate *time.Time
}

// statusChanged reports a committed status: RUNNING first when started, then the execution's
// status if it has ended.
func (e *Engine) statusChanged(x *interp.Execution, started bool) {
	obs := e.o.StatusObserver
	if obs == nil {
		return
	}
	c := StatusChange{ExecutionArn: x.ID.ExecutionArn, StateMachineArn: x.ID.StateMachineArn, Name: x.ID.Name,
		StartDate: x.ID.StartTime, Input: x.Input(), RedriveCount: x.ID.RedriveCount}
	if started {
		c.Status = string(interp.Running)
		if x.ID.RedriveCount > 0 {
			now := e.o.Clock.Now().UTC().Truncate(time.Millisecond)
			c.RedriveDate = &now
		}
		obs.ExecutionStatusChanged(c)
		c.RedriveDate = nil
	}
	if x.Status == interp.Running {
		return
	}
	stop := e.o.Clock.Now().UTC().Truncate(time.Millisecond)
	c.Status, c.StopDate, c.Output, c.Error, c.Cause = string(x.Status), &stop, x.Output, x.Error, x.Cause
	obs.ExecutionStatusChanged(c)
}
