package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// StartSyncExecution runs an execution of an EXPRESS state machine to its end and returns it.
// Nothing is stored: AWS keeps no record of Express executions either.
func (s *Service) StartSyncExecution(ctx context.Context, in *StartExecutionInput) (*engine.ExpressExecution, error) {
	name, input, err := startNameInput(in, s.o.NewID)
	if err != nil {
		return nil, err
	}
	arn, testCaseName, mocked := splitTestCase(in.StateMachineArn)
	sm, _, err := s.startRevision(ctx, arn)
	if err != nil {
		return nil, err
	}
	if sm.Type != store.StateMachineExpress {
		return nil, newError(CodeStateMachineTypeNotSupported, nil, "This operation is not supported by this type of state machine")
	}
	var testCase *interp.TestCase
	if mocked {
		if testCase, err = s.testCase(sm, testCaseName); err != nil {
			return nil, err
		}
	}
	x, err := s.o.Engine.RunExpress(ctx, engine.StartParams{StateMachine: sm, Name: name, Input: input, TestCase: testCase}, true)
	if err != nil {
		return nil, expressError(sm, err)
	}
	return x, nil
}

// startExpress starts an execution of an EXPRESS state machine for StartExecution; it runs in
// the background and is not stored.
func (s *Service) startExpress(sm *store.StateMachine, name, input string, testCase *interp.TestCase, traceParent string) (*store.Execution, error) {
	x, err := s.o.Engine.StartExpress(engine.StartParams{StateMachine: sm, Name: name, Input: input, TestCase: testCase, TraceParent: traceParent})
	if err != nil {
		return nil, expressError(sm, err)
	}
	return &store.Execution{
		Arn: x.Arn, StateMachineArn: sm.Arn, RevisionID: sm.RevisionID, Name: name, Type: sm.Type,
		Status: store.StatusRunning, Input: input, StartDate: x.StartDate,
	}, nil
}

func expressError(sm *store.StateMachine, err error) error {
	var ie *interp.InputError
	if errors.As(err, &ie) {
		return newError(CodeInvalidExecutionInput, err, "Invalid State Machine Execution Input: '%v'", ie.Err)
	}
	return fmt.Errorf("service: running an express execution of %s: %w", sm.Arn, err)
}

// startNameInput applies StartExecution's defaults and name rules.
func startNameInput(in *StartExecutionInput, newID func() string) (name, input string, err error) {
	name, input = in.Name, "{}"
	if name == "" {
		name = newID()
	} else if !validName(name) {
		return "", "", invalidName(name)
	}
	if in.Input != nil {
		// AWS refuses an input given as the empty string rather than taking it as absent.
		if *in.Input == "" {
			return "", "", newError(CodeInvalidExecutionInput, nil, "Invalid State Machine Execution Input: 'Invalid execution input.'")
		}
		input = *in.Input
	}
	return name, input, nil
}
