package store

import (
	"errors"
	"fmt"
)

// Errors the drivers return, wrapped with context; test for them with errors.Is.
var (
	// ErrNotFound: the named row does not exist (for task tokens: was never issued).
	ErrNotFound = errors.New("store: not found")
	// ErrTaskTokenClosed: the task token was issued, but its task has ended (a result was
	// sent, it timed out, or its execution ended). AWS answers TaskTimedOut for such a token
	// and InvalidToken for one it never issued, so the two must not be confused.
	ErrTaskTokenClosed = errors.New("store: task token closed")
	// ErrExecutionAlreadyExists: the execution ARN, or the name under its state machine, is taken.
	ErrExecutionAlreadyExists = errors.New("store: execution already exists")
	// ErrStateMachineAlreadyExists: the state machine ARN is taken.
	ErrStateMachineAlreadyExists = errors.New("store: state machine already exists")
	// ErrExecutionNotRunning: the execution has ended and accepts no more messages.
	ErrExecutionNotRunning = errors.New("store: execution not running")
	// ErrConflict: a transition was not applied because the execution moved on (another
	// version), its lease is held by someone else, or one of its event ids is already recorded.
	// The caller must reload the execution before trying again.
	ErrConflict = errors.New("store: conflict")
	// ErrSchemaTooNew: the database was migrated by a newer Stepline; see SchemaTooNewError.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
	// ErrInvalidCursor: a pagination cursor this store did not produce.
	ErrInvalidCursor = errors.New("store: invalid pagination cursor")
	// ErrInvalidParams: a params struct is missing a required field or is inconsistent.
	ErrInvalidParams = errors.New("store: invalid parameters")
)

// SchemaTooNewError says which schema version was found and which this binary knows. Opening
// such a database is refused rather than risking writes an older binary does not understand.
type SchemaTooNewError struct {
	Found, Known int
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("store: database schema version %d is newer than version %d known to this binary", e.Found, e.Known)
}

// Unwrap makes errors.Is(err, ErrSchemaTooNew) hold.
func (e *SchemaTooNewError) Unwrap() error { return ErrSchemaTooNew }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidParams, fmt.Sprintf(format, args...))
}
