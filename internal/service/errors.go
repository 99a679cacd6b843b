package service

import (
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

// Code is an AWS Step Functions error code. The service speaks in AWS's codes because every
// caller (the API, the console, the CLI) reports them to people who know AWS's; the API layer
// alone knows how each code travels over HTTP.
type Code string

// The error codes the service returns.
const (
	CodeActivityDoesNotExist         Code = "ActivityDoesNotExist"
	CodeExecutionAlreadyExists       Code = "ExecutionAlreadyExists"
	CodeExecutionDoesNotExist        Code = "ExecutionDoesNotExist"
	CodeInvalidArn                   Code = "InvalidArn"
	CodeInvalidDefinition            Code = "InvalidDefinition"
	CodeInvalidExecutionInput        Code = "InvalidExecutionInput"
	CodeInvalidLoggingConfiguration  Code = "InvalidLoggingConfiguration"
	CodeInvalidName                  Code = "InvalidName"
	CodeInvalidOutput                Code = "InvalidOutput"
	CodeInvalidToken                 Code = "InvalidToken"
	CodeMissingRequiredParameter     Code = "MissingRequiredParameter"
	CodeResourceNotFound             Code = "ResourceNotFound"
	CodeStateMachineAlreadyExists    Code = "StateMachineAlreadyExists"
	CodeStateMachineDoesNotExist     Code = "StateMachineDoesNotExist"
	CodeStateMachineTypeNotSupported Code = "StateMachineTypeNotSupported"
	CodeTaskTimedOut                 Code = "TaskTimedOut"
	CodeValidation                   Code = "ValidationException"
)

// Error is a failure the caller caused or can act on, with AWS's code and message. Failures of
// the store or the engine are returned as they are (wrapped), never as an Error: the API layer
// reports those as internal failures.
type Error struct {
	Code    Code
	Message string
	// Err is the underlying cause, if any; it is not part of the message.
	Err error
	// ResourceName is the ARN of the resource concerned, for the errors whose AWS shape has a
	// resourceName member (TooManyTags, ResourceNotFound).
	ResourceName string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Code: c}) test for a code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Err == nil
}

// CodeOf returns the code of err, or "" when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// The messages below are AWS's own wording, quoted value and all, so that scripts matching on
// them keep working.

func stateMachineDoesNotExist(arn string, cause error) error {
	return newError(CodeStateMachineDoesNotExist, cause, "State Machine Does Not Exist: '%s'", arn)
}

func executionDoesNotExist(arn string, cause error) error {
	return newError(CodeExecutionDoesNotExist, cause, "Execution Does Not Exist: '%s'", arn)
}

func activityDoesNotExist(arn string, cause error) error {
	return newError(CodeActivityDoesNotExist, cause, "Activity Does Not Exist: '%s'", arn)
}

func invalidName(name string) error {
	return newError(CodeInvalidName, nil, "Invalid Name: '%s'", name)
}

// StoreFault returns store.ErrStorageFull or store.ErrUnavailable when err, returned by one of
// the service's operations, comes from the database's condition rather than from the call (see
// store.Fault), and nil otherwise. Such errors stay unwrapped failures, as the package comment
// of Error says; this only lets the API layer tell people what went wrong.
func (s *Service) StoreFault(err error) error { return store.Fault(s.o.Store, err) }
