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

	// The database's own faults, as opposed to a call's: the same call can succeed once the
	// fault is gone, so callers report them as the service being unavailable, not as a bug.

	// ErrStorageFull: the database had no room for a write (its disk is full). The write's
	// transaction was rolled back: nothing of it is visible.
	ErrStorageFull = errors.New("store: database storage is full")
	// ErrUnavailable: the connection to the database was lost or could not be made. A write
	// whose connection dropped while it committed may have been applied.
	ErrUnavailable = errors.New("store: database unavailable")
)

// FaultClassifier is implemented by stores that recognise, among their driver's errors, those
// that mean ErrStorageFull or ErrUnavailable. Classifying where the error is reported, rather
// than wrapping at each of a driver's many return sites, keeps the drivers' code as it is.
type FaultClassifier interface {
	// Fault returns ErrStorageFull or ErrUnavailable when err comes from such a fault, else nil.
	Fault(err error) error
}

// Fault returns ErrStorageFull or ErrUnavailable when err, returned by s, comes from the
// database's fault, and nil otherwise.
func Fault(s Store, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrStorageFull):
		return ErrStorageFull
	case errors.Is(err, ErrUnavailable):
		return ErrUnavailable
	}
	if c, ok := s.(FaultClassifier); ok {
		return c.Fault(err)
	}
	return nil
}

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
