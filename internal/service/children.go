package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// A Map Run's child executions run inside their parent execution (see interp.ChildHistory):
// the parent's Map Run record holds their status and dates, and the store keeps their
// histories and knows each one's parent. DescribeExecution, GetExecutionHistory and
// DescribeStateMachineForExecution answer for them from those.

// ChildExecution is a Map Run child execution as DescribeExecution reports it.
type ChildExecution struct {
	// Execution holds the ARN, the child state machine (the parent's, qualified with the
	// Map's label), name, type, status, dates, input and outcome.
	store.Execution
	MapRunArn string
	Label     string
	// ParentArn is the execution whose Map Run started the child.
	ParentArn string
	// Redrives is nil when the child was never redriven.
	Redrives *store.Redrives
	// RedriveStatus is REDRIVABLE_BY_MAP_RUN for a child that ended unsuccessfully in a Map
	// Run that can be redriven (with its parent), else NOT_REDRIVABLE, with the reason.
	RedriveStatus       string
	RedriveStatusReason string
}

// IsChildExecutionArn reports whether arn names a Map Run child execution: its state machine
// part is qualified with a label, which no name of a state machine can hold.
func IsChildExecutionArn(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) >= 8 && (parts[5] == resExecution || parts[5] == resExpress) && strings.Contains(parts[6], "/")
}

// DescribeChildExecution returns a Map Run child execution.
func (s *Service) DescribeChildExecution(ctx context.Context, arn string) (*ChildExecution, error) {
	if _, err := parseARN(arn, resExecution, resExpress); err != nil {
		return nil, err
	}
	found, err := s.o.Store.ChildExecutionGet(ctx, &store.ChildExecutionGetParams{ExecutionArn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil, executionDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: finding the parent of %s: %w", arn, err)
	}
	parent := found.ParentArn
	px, x, err := s.restoredExecution(ctx, parent)
	if errors.Is(err, store.ErrNotFound) {
		return nil, executionDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, err
	}
	mr, child, ok := x.MapRunChild(found.Key)
	if !ok || child.ExecutionArn != arn {
		return nil, executionDoesNotExist(arn, nil)
	}
	c := &ChildExecution{
		Execution: store.Execution{Arn: arn, StateMachineArn: mr.StateMachineArn, Name: child.Name,
			Type: store.StateMachineType(mr.ExecutionType), Status: store.ExecutionStatus(child.Status),
			StartDate: child.StartDate, StopDate: child.StopDate},
		MapRunArn: mr.Arn, Label: mr.Label, ParentArn: parent,
	}
	if child.RedriveDate != nil {
		c.Redrives = &store.Redrives{Count: child.RedriveCount, Date: *child.RedriveDate}
	}
	if err := s.childOutcome(ctx, c); err != nil {
		return nil, err
	}
	if err := s.childRedrivable(ctx, c, px, &mr); err != nil {
		return nil, err
	}
	return c, nil
}

// childEvent is what DescribeExecution reads of a child's first and last events.
type childEvent struct {
	Started *struct {
		Input string `json:"input"`
	} `json:"executionStartedEventDetails"`
	Succeeded *struct {
		Output *string `json:"output"`
	} `json:"executionSucceededEventDetails"`
	Failed *struct {
		Error *string `json:"error"`
		Cause *string `json:"cause"`
	} `json:"executionFailedEventDetails"`
	Aborted *struct {
		Error *string `json:"error"`
		Cause *string `json:"cause"`
	} `json:"executionAbortedEventDetails"`
	TimedOut *struct {
		Error *string `json:"error"`
		Cause *string `json:"cause"`
	} `json:"executionTimedOutEventDetails"`
}

// childOutcome fills in a child's input, from its first event, and its output or error, from
// its last once it ended.
func (s *Service) childOutcome(ctx context.Context, c *ChildExecution) error {
	for _, reverse := range []bool{false, true} {
		page, err := s.o.Store.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: c.Arn, Child: true, Reverse: reverse, Limit: 1})
		if err != nil {
			return fmt.Errorf("service: reading the history of %s: %w", c.Arn, err)
		}
		if len(page.Events) == 0 {
			return fmt.Errorf("service: child execution %s has no history", c.Arn)
		}
		var e childEvent
		if err := json.Unmarshal(page.Events[0].Payload, &e); err != nil {
			return fmt.Errorf("service: an event of %s: %w", c.Arn, err)
		}
		switch {
		case e.Started != nil:
			c.Input = e.Started.Input
		case e.Succeeded != nil:
			c.Output = e.Succeeded.Output
		case e.Failed != nil:
			c.Error, c.Cause = e.Failed.Error, e.Failed.Cause
		case e.Aborted != nil:
			c.Error, c.Cause = e.Aborted.Error, e.Aborted.Cause
		case e.TimedOut != nil:
			c.Error, c.Cause = e.TimedOut.Error, e.TimedOut.Cause
		}
	}
	return nil
}

// childRedrivable decides a child's redrive status: a child is redriven only with its Map Run,
// which is redriven with the parent execution, so the parent's reason is the child's. The
// reason for a Map Run that will not run again (it succeeded, tolerating the child's failure,
// or it runs) is Stepline's, worded as AWS words its reasons.
func (s *Service) childRedrivable(ctx context.Context, c *ChildExecution, parent *store.Execution, mr *interp.MapRun) error {
	c.RedriveStatus = "NOT_REDRIVABLE"
	switch {
	case c.Status == store.ExecutionStatus(interp.PendingRedrive):
		c.RedriveStatus = "REDRIVABLE_BY_MAP_RUN"
		return nil
	case !c.Status.Redrivable():
		c.RedriveStatusReason = fmt.Sprintf("Execution is %s and cannot be redriven", c.Status)
		return nil
	}
	ok, reason, err := s.mapRunRedrivable(ctx, parent, mr)
	if err != nil {
		return err
	}
	if !ok {
		c.RedriveStatusReason = reason
		return nil
	}
	c.RedriveStatus = "REDRIVABLE_BY_MAP_RUN"
	return nil
}

// mapRunRedrivable reports whether a redrive of the parent would redrive the Map Run mr, and
// if not, why.
func (s *Service) mapRunRedrivable(ctx context.Context, parent *store.Execution, mr *interp.MapRun) (bool, string, error) {
	if mr.Status != interp.MapRunFailed && mr.Status != interp.MapRunAborted {
		return false, fmt.Sprintf("Map Run is %s and cannot be redriven", mr.Status), nil
	}
	r, err := s.Redrives(ctx, parent.Arn)
	if err != nil {
		return false, "", err
	}
	return s.Redrivable(ctx, parent, r)
}

// countNotRedrivable fills in a Map Run's failuresNotRedrivable: its unsuccessful child
// executions that no redrive will run again, which DescribeExecution reports NOT_REDRIVABLE.
func (s *Service) countNotRedrivable(ctx context.Context, parent *store.Execution, mr *interp.MapRun) error {
	ok, _, err := s.mapRunRedrivable(ctx, parent, mr)
	if err != nil || ok {
		return err
	}
	for _, c := range []*interp.MapRunCounts{&mr.Items, &mr.Executions} {
		c.FailuresNotRedrivable = c.Failed + c.Aborted + c.TimedOut
	}
	return nil
}

// stopChild is StopExecution of a Map Run child execution: the request goes to its parent,
// which aborts the child alone (see interp.Stop). Like StopExecution it returns once the
// child stopped, and a child that ended already answers its stop date.
func (s *Service) stopChild(ctx context.Context, arn string, errName, cause *string) (time.Time, error) {
	// AWS does not stop Express executions.
	if _, err := parseARN(arn, resExecution); err != nil {
		return time.Time{}, err
	}
	var parent string
	stopped := func() (*time.Time, error) {
		c, err := s.DescribeChildExecution(ctx, arn)
		if err != nil {
			return nil, err
		}
		parent = c.ParentArn
		if !c.Status.Terminal() {
			return nil, nil
		}
		return c.StopDate, nil
	}
	return s.stopAndWait(ctx, arn, stopped, func() error { return s.o.Engine.StopChildExecution(ctx, parent, arn, errName, cause) })
}
