package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// StartExecutionInput is StartExecution's request.
type StartExecutionInput struct {
	StateMachineArn string
	// Name defaults to a random UUID.
	Name string
	// Input defaults to "{}" when nil.
	Input *string
	// TraceParent is the W3C traceparent the execution's trace continues: a nested execution's
	// parent task span. "" starts a trace of its own.
	TraceParent string
}

// StartExecution starts an execution of the latest revision of a state machine, or of a version
// (named by its ARN, or by an alias's, which draws one by the routing weights). Starting one
// again under a name already used returns the existing execution when it is still running with
// the same input, and ExecutionAlreadyExists otherwise. Express executions run in memory (see
// startExpress), so their names are not checked for reuse. An ARN suffixed #TestCaseName runs
// the execution under that test case of the mock configuration (Options.Mocks), as Step
// Functions Local does; the execution's ARN is the ordinary one.
func (s *Service) StartExecution(ctx context.Context, in *StartExecutionInput) (*store.Execution, error) {
	name, input, err := startNameInput(in, s.o.NewID)
	if err != nil {
		return nil, err
	}
	arn, testCaseName, mocked := splitTestCase(in.StateMachineArn)
	sm, from, err := s.startRevision(ctx, arn)
	if err != nil {
		return nil, err
	}
	var testCase *interp.TestCase
	if mocked {
		if testCase, err = s.testCase(sm, testCaseName); err != nil {
			return nil, err
		}
	}
	if sm.Type == store.StateMachineExpress {
		return s.startExpress(sm, name, input, testCase, in.TraceParent)
	}
	x, err := s.o.Engine.StartExecution(ctx, engine.StartParams{StateMachine: sm, Name: name, Input: input,
		VersionArn: from.versionArn, AliasArn: from.aliasArn, TestCase: testCase, TraceParent: in.TraceParent})
	var ie *interp.InputError
	switch {
	case errors.As(err, &ie):
		return nil, newError(CodeInvalidExecutionInput, err, "Invalid State Machine Execution Input: '%v'", ie.Err)
	case errors.Is(err, engine.ErrExecutionExists) && x != nil:
		if x.Status == store.StatusRunning && x.Input == input {
			return x, nil
		}
		return nil, newError(CodeExecutionAlreadyExists, err, "Execution Already Exists: '%s'", x.Arn)
	case err != nil:
		return nil, fmt.Errorf("service: starting an execution of %s: %w", sm.Arn, err)
	}
	return x, nil
}

// latestRevision is stateMachine through the revision cache, for StartExecution.
func (s *Service) latestRevision(ctx context.Context, arn string) (*store.StateMachine, error) {
	now := s.o.Clock.Now()
	if sm := s.revisions.get(arn, now); sm != nil {
		return sm, nil
	}
	sm, err := s.stateMachine(ctx, arn)
	if err != nil {
		return nil, err
	}
	s.revisions.put(sm, now)
	return sm, nil
}

// DescribeExecution returns an execution with its input and, once it ended, its outcome.
// Express executions are not stored, and AWS refuses their ARNs here (and so in StopExecution,
// GetExecutionHistory and DescribeStateMachineForExecution) as of a resource type not valid in
// this context.
func (s *Service) DescribeExecution(ctx context.Context, arn string) (*store.Execution, error) {
	if _, err := parseARN(arn, resExecution); err != nil {
		return nil, err
	}
	x, err := s.o.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil, executionDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: reading execution %s: %w", arn, err)
	}
	return x, nil
}

// ExecutionStateMachine is DescribeStateMachineForExecution's answer: the revision an
// execution runs, and for a Map Run's child execution the Map Run and its label.
type ExecutionStateMachine struct {
	StateMachine
	MapRunArn string
	Label     string
}

// DescribeStateMachineForExecution returns the revision an execution runs, which may differ
// from the state machine's latest (or the machine may be deleted). A Map Run's child
// execution runs its parent's revision, under the state machine ARN qualified with the Map's
// label, as its Map Run reports it.
func (s *Service) DescribeStateMachineForExecution(ctx context.Context, arn string) (*ExecutionStateMachine, error) {
	var child *ChildExecution
	if IsChildExecutionArn(arn) {
		// AWS documents this action as not supported for Express executions.
		if _, err := parseARN(arn, resExecution); err != nil {
			return nil, err
		}
		var err error
		if child, err = s.DescribeChildExecution(ctx, arn); err != nil {
			return nil, err
		}
		arn = child.ParentArn
	}
	x, err := s.DescribeExecution(ctx, arn)
	if err != nil {
		return nil, err
	}
	sm, err := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: x.StateMachineArn, RevisionID: x.RevisionID})
	if err != nil {
		return nil, fmt.Errorf("service: reading the state machine of %s: %w", arn, err)
	}
	d, err := describe(sm)
	if err != nil {
		return nil, err
	}
	out := &ExecutionStateMachine{StateMachine: *d}
	if child != nil {
		out.Arn, out.MapRunArn, out.Label = child.StateMachineArn, child.MapRunArn, child.Label
	}
	return out, nil
}

// stopWait bounds how long StopExecution waits for the abort to be recorded, so that a
// DescribeExecution right after it sees ABORTED, as on AWS.
const stopWait = 5 * time.Second

// stopPoll is how often StopExecution looks whether the abort was recorded.
const stopPoll = 10 * time.Millisecond

// StopExecution aborts a running execution and returns when it stopped. Stopping an execution
// that already ended changes nothing and returns its stop date.
func (s *Service) StopExecution(ctx context.Context, arn string, errName, cause *string) (time.Time, error) {
	if IsChildExecutionArn(arn) {
		return s.stopChild(ctx, arn, errName, cause)
	}
	stopped := func() (*time.Time, error) {
		x, err := s.DescribeExecution(ctx, arn)
		if err != nil || !x.Status.Terminal() {
			return nil, err
		}
		return x.StopDate, nil
	}
	return s.stopAndWait(ctx, arn, stopped, func() error { return s.o.Engine.StopExecution(ctx, arn, errName, cause) })
}

// stopAndWait stops an execution, or a child execution, with stop unless stopped already
// gives its stop date (an ended one changes nothing), and returns once stopped gives one;
// stopped gives none while the execution runs.
func (s *Service) stopAndWait(ctx context.Context, arn string, stopped func() (*time.Time, error), stop func() error) (time.Time, error) {
	if date, err := stopped(); err != nil || date != nil {
		return stopDate(date, err)
	}
	if err := stop(); err != nil && !errors.Is(err, engine.ErrNotRunning) {
		return time.Time{}, fmt.Errorf("service: stopping %s: %w", arn, err)
	}
	deadline := s.o.Clock.Now().Add(stopWait)
	for {
		if date, err := stopped(); err != nil || date != nil {
			return stopDate(date, err)
		}
		if !s.o.Clock.Now().Before(deadline) {
			// The node holding the execution is slow or gone; the abort is queued and will
			// be recorded by whichever node runs the execution next.
			return s.now(), nil
		}
		if err := s.o.Clock.Sleep(ctx, stopPoll); err != nil {
			return time.Time{}, fmt.Errorf("service: waiting for %s to stop: %w", arn, err)
		}
	}
}

func stopDate(date *time.Time, err error) (time.Time, error) {
	if err != nil {
		return time.Time{}, err
	}
	return *date, nil
}

// ListExecutionsInput is ListExecutions's request; an empty Status lists all.
type ListExecutionsInput struct {
	StateMachineArn string
	Status          store.ExecutionStatus
	// Redriven, when set, lists only executions that were (or were never) redriven.
	Redriven *bool
	Page
}

// ListExecutions lists a state machine's executions, newest first. Given a version's ARN it
// lists the executions started through that version (directly or through an alias), given an
// alias's those started through the alias; a version or alias that does not exist is
// ResourceNotFound, as AWS's DescribeStateMachineAlias answers.
func (s *Service) ListExecutions(ctx context.Context, in *ListExecutionsInput) ([]*store.Execution, string, error) {
	if err := checkPage(in.Page); err != nil {
		return nil, "", err
	}
	a, err := parseARN(in.StateMachineArn, resStateMachine)
	if err != nil {
		return nil, "", err
	}
	p := &store.ExecutionListParams{
		StateMachineArn: in.StateMachineArn, Status: in.Status, Redriven: in.Redriven, Limit: in.Limit, Cursor: in.Token,
	}
	if len(a.Names) == 2 {
		p.StateMachineArn = strings.TrimSuffix(in.StateMachineArn, ":"+a.Names[1])
		if isNumber(a.Names[1]) {
			p.VersionArn = in.StateMachineArn
		} else {
			p.AliasArn = in.StateMachineArn
		}
	}
	sm, err := s.stateMachine(ctx, p.StateMachineArn)
	if err != nil {
		return nil, "", err
	}
	if sm.Type == store.StateMachineExpress {
		return nil, "", newError(CodeStateMachineTypeNotSupported, nil, "This operation is not supported by this type of state machine")
	}
	if err := s.qualifierExists(ctx, p); err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.ExecutionList(ctx, p)
	if err != nil {
		return nil, "", pageError(fmt.Errorf("service: listing executions of %s: %w", in.StateMachineArn, err))
	}
	return res.Executions, res.NextCursor, nil
}

// qualifierExists checks that the version or alias a listing filters on exists.
func (s *Service) qualifierExists(ctx context.Context, p *store.ExecutionListParams) error {
	var err error
	switch {
	case p.VersionArn != "":
		_, n, perr := parseVersionArn(p.VersionArn)
		if perr != nil {
			return perr
		}
		_, err = s.o.Store.StateMachineVersionGet(ctx, &store.VersionGetParams{StateMachineArn: p.StateMachineArn, Version: n})
	case p.AliasArn != "":
		_, err = s.o.Store.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: p.AliasArn})
	default:
		return nil
	}
	arn := p.VersionArn + p.AliasArn
	if errors.Is(err, store.ErrNotFound) {
		return resourceNotFound(arn, err)
	}
	if err != nil {
		return fmt.Errorf("service: reading %s: %w", arn, err)
	}
	return nil
}

// HistoryInput is GetExecutionHistory's request.
type HistoryInput struct {
	ExecutionArn string
	Reverse      bool
	Page
}

// GetExecutionHistory returns one page of an execution's history events, each the event's
// GetExecutionHistory JSON (with execution data) as the store keeps it.
func (s *Service) GetExecutionHistory(ctx context.Context, in *HistoryInput) ([]*store.HistoryEvent, string, error) {
	if err := checkPage(in.Page); err != nil {
		return nil, "", err
	}
	child := IsChildExecutionArn(in.ExecutionArn)
	if child {
		// AWS keeps no history of Express executions, those of Map Runs included.
		if _, err := parseARN(in.ExecutionArn, resExecution); err != nil {
			return nil, "", err
		}
		if _, err := s.DescribeChildExecution(ctx, in.ExecutionArn); err != nil {
			return nil, "", err
		}
	} else if _, err := s.DescribeExecution(ctx, in.ExecutionArn); err != nil {
		return nil, "", err
	}
	after := int64(0)
	if in.Token != "" {
		var err error
		if after, err = decodeHistoryToken(in.Token, in.Reverse); err != nil {
			return nil, "", err
		}
	}
	res, err := s.o.Store.HistoryList(ctx, &store.HistoryListParams{
		ExecutionArn: in.ExecutionArn, Child: child, After: after, Limit: in.Limit, Reverse: in.Reverse,
	})
	if err != nil {
		return nil, "", fmt.Errorf("service: reading the history of %s: %w", in.ExecutionArn, err)
	}
	next := ""
	if res.NextAfter != 0 {
		next = encodeHistoryToken(res.NextAfter, in.Reverse)
	}
	return res.Events, next, nil
}

// History tokens carry the direction they were made for, so that a token is not silently
// reused with the opposite reverseOrder (AWS refuses that too).
func encodeHistoryToken(after int64, reverse bool) string {
	dir := "f"
	if reverse {
		dir = "r"
	}
	return base64.RawURLEncoding.EncodeToString([]byte("h1:" + dir + ":" + strconv.FormatInt(after, 10)))
}

func decodeHistoryToken(token string, reverse bool) (int64, error) {
	bad := newError(CodeInvalidToken, nil, "Invalid Token: 'Invalid pagination token'")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, bad
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "h1" || (parts[1] == "r") != reverse || (parts[1] != "r" && parts[1] != "f") {
		return 0, bad
	}
	after, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || after <= 0 {
		return 0, bad
	}
	return after, nil
}
