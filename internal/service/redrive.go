package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// CodeExecutionNotRedrivable is returned for an execution RedriveExecution cannot resume.
const CodeExecutionNotRedrivable Code = "ExecutionNotRedrivable"

// redriveWindow is how long after it ended an execution can be redriven, as on AWS.
const redriveWindow = 14 * 24 * time.Hour

// RedriveExecution resumes a standard execution that ended FAILED, TIMED_OUT or ABORTED in
// the last 14 days, from the state it ended in, and returns the redrive's date.
func (s *Service) RedriveExecution(ctx context.Context, arn string) (time.Time, error) {
	if _, err := parseARN(arn, resExecution); err != nil {
		return time.Time{}, err
	}
	x, err := s.o.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: arn, WithState: true})
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, executionDoesNotExist(arn, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("service: reading execution %s: %w", arn, err)
	}
	switch {
	case !x.Status.Redrivable():
		return time.Time{}, newError(CodeExecutionNotRedrivable, nil,
			"Execution with status %s cannot be redriven: '%s'", x.Status, arn)
	case x.Type != store.StateMachineStandard:
		return time.Time{}, newError(CodeExecutionNotRedrivable, nil, "Only STANDARD executions can be redriven: '%s'", arn)
	case x.StopDate != nil && s.o.Clock.Now().Sub(*x.StopDate) > redriveWindow:
		return time.Time{}, newError(CodeExecutionNotRedrivable, nil,
			"Execution ended more than 14 days ago and cannot be redriven: '%s'", arn)
	}
	sm, err := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: x.StateMachineArn, RevisionID: x.RevisionID})
	if err != nil {
		return time.Time{}, fmt.Errorf("service: reading the state machine of %s: %w", arn, err)
	}
	date, err := s.o.Engine.RedriveExecution(ctx, x, sm)
	if errors.Is(err, engine.ErrNotRedrivable) {
		return time.Time{}, newError(CodeExecutionNotRedrivable, err, "Execution cannot be redriven: '%s': %v", arn, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("service: redriving %s: %w", arn, err)
	}
	return date, nil
}
