package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// CreateActivity creates an activity, or returns the existing one of that name.
func (s *Service) CreateActivity(ctx context.Context, name string, tags []Tag) (*store.Activity, error) {
	if !validName(name) {
		return nil, invalidName(name)
	}
	if err := tooManyTags(s.ActivityArn(name), tags); err != nil {
		return nil, err
	}
	b, err := json.Marshal(nonNilTags(tags))
	if err != nil {
		return nil, fmt.Errorf("service: encoding tags: %w", err)
	}
	a, err := s.o.Store.ActivityCreate(ctx, &store.ActivityCreateParams{Arn: s.ActivityArn(name), Name: name, CreatedAt: s.now(), Tags: b})
	if err != nil {
		return nil, fmt.Errorf("service: creating activity %s: %w", name, err)
	}
	return a, nil
}

// DescribeActivity returns an activity.
func (s *Service) DescribeActivity(ctx context.Context, arn string) (*store.Activity, error) {
	if _, err := parseARN(arn, resActivity); err != nil {
		return nil, err
	}
	a, err := s.o.Store.ActivityGet(ctx, &store.ActivityGetParams{Arn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil, activityDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: reading activity %s: %w", arn, err)
	}
	return a, nil
}

// ListActivities lists activities by ARN.
func (s *Service) ListActivities(ctx context.Context, p Page) ([]*store.Activity, string, error) {
	if err := checkPage(p); err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.ActivityList(ctx, &store.ActivityListParams{Limit: p.Limit, Cursor: p.Token})
	if err != nil {
		return nil, "", pageError(fmt.Errorf("service: listing activities: %w", err))
	}
	return res.Activities, res.NextCursor, nil
}

// DeleteActivity deletes an activity; deleting one that does not exist succeeds, as on AWS.
func (s *Service) DeleteActivity(ctx context.Context, arn string) error {
	if _, err := parseARN(arn, resActivity); err != nil {
		return err
	}
	err := s.o.Store.ActivityDelete(ctx, &store.ActivityDeleteParams{Arn: arn})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("service: deleting activity %s: %w", arn, err)
	}
	return nil
}

// ActivityPoll is how long GetActivityTask waits for a task at most, as AWS's long poll.
const ActivityPoll = 60 * time.Second

// activityPollInterval is how often a waiting GetActivityTask looks for a task.
const activityPollInterval = 50 * time.Millisecond

// GetActivityTask hands the oldest waiting task of an activity to a worker, waiting up to
// wait for one to arrive. It returns nil when none came, or when ctx ended first (a client
// that hung up or a server shutting down gets the same answer as a poll that timed out).
func (s *Service) GetActivityTask(ctx context.Context, arn, worker string, wait time.Duration) (*engine.ActivityTask, error) {
	if _, err := s.DescribeActivity(ctx, arn); err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	deadline := s.o.Clock.Now().Add(wait)
	for {
		t, err := s.o.Engine.GetActivityTask(ctx, arn, worker)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("service: getting a task of %s: %w", arn, err)
		}
		if t != nil || !s.o.Clock.Now().Before(deadline) {
			return t, nil
		}
		if s.o.Clock.Sleep(ctx, activityPollInterval) != nil {
			return nil, nil
		}
	}
}

// SendTaskSuccess reports a task's output through its token.
func (s *Service) SendTaskSuccess(ctx context.Context, token, output string) error {
	if !json.Valid([]byte(output)) {
		return newError(CodeInvalidOutput, nil, "Invalid Output: 'Output is not valid JSON'")
	}
	return tokenError(s.o.Engine.SendTaskSuccess(ctx, token, output))
}

// SendTaskFailure reports a task's failure through its token.
func (s *Service) SendTaskFailure(ctx context.Context, token string, errName, cause *string) error {
	return tokenError(s.o.Engine.SendTaskFailure(ctx, token, errName, cause))
}

// SendTaskHeartbeat reports that the task holding token is alive.
func (s *Service) SendTaskHeartbeat(ctx context.Context, token string) error {
	return tokenError(s.o.Engine.SendTaskHeartbeat(ctx, token))
}

// tokenError tells AWS's two token errors apart: a token that is malformed or was never
// issued is InvalidToken; one whose task already ended (a result was sent, it timed out, or
// its execution ended) is TaskTimedOut, in AWS's words.
func tokenError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrTaskTokenClosed) || errors.Is(err, store.ErrExecutionNotRunning):
		return newError(CodeTaskTimedOut, err, "Task Timed Out: 'Provided task does not exist anymore'")
	case errors.Is(err, engine.ErrInvalidToken):
		return newError(CodeInvalidToken, err, "Invalid Token: 'Invalid token'")
	}
	return fmt.Errorf("service: task token: %w", err)
}

func resourceNotFound(arn string, cause error) error {
	e := newError(CodeResourceNotFound, cause, "Resource not found: '%s'", arn)
	e.ResourceName = arn
	return e
}
