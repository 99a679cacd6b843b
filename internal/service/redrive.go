package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// CodeExecutionNotRedrivable is returned for an execution RedriveExecution cannot resume.
const CodeExecutionNotRedrivable Code = "ExecutionNotRedrivable"

// redriveWindow is how long after it ended an execution can be redriven, as on AWS.
const redriveWindow = 14 * 24 * time.Hour

// redriveTokenWindow is how long after its first use a client token gets RedriveExecution's
// idempotent answer, as on AWS (which also keeps only the last store.RedriveTokensKept).
const redriveTokenWindow = 15 * time.Minute

// RedriveExecution resumes a standard execution that ended FAILED, TIMED_OUT or ABORTED in
// the last 14 days, from the state it ended in, and returns the redrive's date. A clientToken
// that redrove the execution in the last 15 minutes gets that redrive's date again, and
// nothing is redriven: an SDK retrying a redrive whose answer it lost sends the same token.
func (s *Service) RedriveExecution(ctx context.Context, arn, clientToken string) (time.Time, error) {
	if _, err := parseARN(arn, resExecution); err != nil {
		return time.Time{}, err
	}
	if IsChildExecutionArn(arn) {
		// AWS redrives a Map Run's children only with their Map Run (REDRIVABLE_BY_MAP_RUN).
		c, err := s.DescribeChildExecution(ctx, arn)
		if err != nil {
			return time.Time{}, err
		}
		return time.Time{}, newError(CodeExecutionNotRedrivable, nil,
			"Execution is a child execution of a Map Run and can be redriven only by redriving its parent execution %s: '%s'", c.ParentArn, arn)
	}
	x, err := s.o.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: arn, WithState: true})
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, executionDoesNotExist(arn, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("service: reading execution %s: %w", arn, err)
	}
	if date, ok, err := s.redriveOfToken(ctx, arn, clientToken); err != nil || ok {
		return date, err
	}
	r, err := s.Redrives(ctx, arn)
	if err != nil {
		return time.Time{}, err
	}
	ok, reason, err := s.Redrivable(ctx, x, r)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, newError(CodeExecutionNotRedrivable, nil, "%s: '%s'", reason, arn)
	}
	sm, err := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: x.StateMachineArn, RevisionID: x.RevisionID})
	if err != nil {
		return time.Time{}, fmt.Errorf("service: reading the state machine of %s: %w", arn, err)
	}
	date, err := s.o.Engine.RedriveExecution(ctx, x, sm, clientToken)
	if errors.Is(err, engine.ErrNotRedrivable) {
		// A concurrent request with the same token may have redriven it first.
		if date, ok, terr := s.redriveOfToken(ctx, arn, clientToken); terr != nil || ok {
			return date, terr
		}
		// The engine's reasons (a concurrent redrive, the redrive limit) are not in AWS's words;
		// Err keeps them.
		return time.Time{}, newError(CodeExecutionNotRedrivable, err, "Execution cannot be redriven: '%s'", arn)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("service: redriving %s: %w", arn, err)
	}
	return date, nil
}

// redriveOfToken returns the date of the redrive a client token made, if it made one within
// redriveTokenWindow.
func (s *Service) redriveOfToken(ctx context.Context, arn, clientToken string) (time.Time, bool, error) {
	if clientToken == "" {
		return time.Time{}, false, nil
	}
	date, err := s.o.Store.ExecutionRedriveTokenGet(ctx, &store.ExecutionRedriveTokenGetParams{Arn: arn, ClientToken: clientToken})
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("service: reading the redrive token of %s: %w", arn, err)
	}
	if s.o.Clock.Now().Sub(date) > redriveTokenWindow {
		return time.Time{}, false, nil
	}
	return date, true, nil
}

// Redrivable reports whether RedriveExecution would resume x, redriven r times (nil: never),
// and why not, in the words of DescribeExecution's redriveStatusReason.
func (s *Service) Redrivable(ctx context.Context, x *store.Execution, r *store.Redrives) (bool, string, error) {
	now := s.o.Clock.Now()
	switch {
	case !x.Status.Redrivable():
		return false, fmt.Sprintf("Execution is %s and cannot be redriven", x.Status), nil
	case x.Type != store.StateMachineStandard:
		return false, "Only STANDARD executions can be redriven", nil
	case x.StopDate != nil && now.Sub(*x.StopDate) > redriveWindow:
		return false, "Execution redrivable period exceeded", nil
	case now.Sub(x.StartDate) >= interp.MaxDuration:
		// A redrive keeps the start date: it would time out at once.
		return false, "Execution has exceeded the max execution time", nil
	case r != nil && r.Count >= interp.MaxRedrives:
		// Not among AWS's documented reasons, which do not mention its quota of redrives.
		return false, fmt.Sprintf("Execution was redriven %d times, the most it can be", r.Count), nil
	}
	// A redrive adds to the history: one at its limit has no room (see interp.Redrive).
	last, err := s.o.Store.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: x.Arn, Reverse: true, Limit: 1})
	if err != nil {
		return false, "", fmt.Errorf("service: reading the history of %s: %w", x.Arn, err)
	}
	if len(last.Events) > 0 && last.Events[0].ID >= interp.MaxHistoryEvents-1 {
		return false, "Execution history event limit exceeded", nil
	}
	return true, "", nil
}

// Redrives returns how often an execution was redriven and when last; nil when never.
func (s *Service) Redrives(ctx context.Context, arn string) (*store.Redrives, error) {
	r, err := s.o.Store.ExecutionRedriveGet(ctx, &store.ExecutionRedriveGetParams{Arn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("service: reading the redrives of %s: %w", arn, err)
	}
	return r, nil
}
