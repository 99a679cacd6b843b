package service

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/mock"
	"github.com/stepline/stepline/internal/store"
)

// splitTestCase splits a StartExecution target of Step Functions Local's form
// stateMachineArn#TestCaseName. State machine names cannot hold '#', so the first one ends the
// ARN.
func splitTestCase(arn string) (machine, testCase string, ok bool) {
	return strings.Cut(arn, "#")
}

// testCase checks that the mock configuration defines a test case of sm, and names it for the
// engine. Step Functions Local documents no error for a test case it does not know; Stepline
// refuses the start with a ValidationException that says what is missing, rather than running
// the execution unmocked.
func (s *Service) testCase(sm *store.StateMachine, name string) (*interp.TestCase, error) {
	if name == "" {
		return nil, newError(CodeValidation, nil, "Invalid mock test case: the state machine ARN ends in '#' without a test case name")
	}
	if s.o.Mocks == nil {
		return nil, newError(CodeValidation, nil,
			"Invalid mock test case '%s': no mock configuration is loaded (set SFN_MOCK_CONFIG or start stepline serve with --mock-config FILE)", name)
	}
	tc, err := s.o.Mocks.TestCase(sm.Name, name)
	switch {
	case errors.Is(err, mock.ErrNoStateMachine):
		return nil, newError(CodeValidation, err, "Invalid mock test case '%s': the mock configuration %s has no state machine '%s'",
			name, s.o.Mocks.File, sm.Name)
	case errors.Is(err, mock.ErrNoTestCase):
		return nil, newError(CodeValidation, err, "Invalid mock test case '%s': state machine '%s' has no such test case in the mock configuration %s (it has %s)",
			name, sm.Name, s.o.Mocks.File, strings.Join(s.o.Mocks.TestCases(sm.Name), ", "))
	case err != nil:
		return nil, err
	}
	def, err := s.o.Engine.Definition(sm)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	if state := mockedActivity(&def.Machine, tc); state != "" {
		// Step Functions Local fails such an execution with States.Runtime and these words; an
		// activity task goes to its workers, never through the task runner, so Stepline refuses
		// the start instead of letting the execution wait for a worker.
		return nil, newError(CodeValidation, nil, "Activity state cannot be mocked. Please remove mocks mapped for all activity state in the mock config file. (state '%s' of test case '%s')",
			state, name)
	}
	return &interp.TestCase{StateMachine: sm.Name, Name: name}, nil
}

// mockedActivity returns the first Task state of m (its Parallel branches and Map processors
// included) that runs an activity and that the test case mocks, or "".
func mockedActivity(m *asl.Machine, tc *mock.TestCase) string {
	for _, name := range m.Order {
		st := m.States[name]
		switch {
		case st.Task != nil && strings.Contains(st.Task.Resource, ":activity:"):
			if _, mocked, _ := tc.Response(name, 0); mocked {
				return name
			}
		case st.Parallel != nil:
			for _, b := range st.Parallel.Branches {
				if n := mockedActivity(b, tc); n != "" {
					return n
				}
			}
		case st.Map != nil && st.Map.Processor != nil:
			if n := mockedActivity(st.Map.Processor, tc); n != "" {
				return n
			}
		}
	}
	return ""
}
