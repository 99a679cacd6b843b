// Package sferr holds the errors a state machine raises at run time: a name that Retry and Catch
// match (States.Runtime, States.TaskFailed, or a user's own) and a cause text.
//
// It is a leaf package so that paths, intrinsics, templates and the interpreter can all raise and
// inspect the same error without importing each other.
package sferr

import "fmt"

// Names of the errors Step Functions itself raises.
const (
	ALL                             = "States.ALL"
	Runtime                         = "States.Runtime"
	Timeout                         = "States.Timeout"
	HeartbeatTimeout                = "States.HeartbeatTimeout"
	TaskFailed                      = "States.TaskFailed"
	Permissions                     = "States.Permissions"
	ResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ParameterPathFailure            = "States.ParameterPathFailure"
	BranchFailed                    = "States.BranchFailed"
	NoChoiceMatched                 = "States.NoChoiceMatched"
	IntrinsicFailure                = "States.IntrinsicFailure"
	ExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ItemReaderFailed                = "States.ItemReaderFailed"
	ResultWriterFailed              = "States.ResultWriterFailed"
	DataLimitExceeded               = "States.DataLimitExceeded"
	QueryEvaluationError            = "States.QueryEvaluationError"
)

// Error is a named Step Functions error with its cause.
type Error struct {
	Name  string
	Cause string
}

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// New returns an Error whose cause is formatted from format and args.
func New(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}
