package store

import "time"

// ExecutionRedriveGetParams names an execution.
type ExecutionRedriveGetParams struct {
	Arn string
}

// ExecutionRedriveTokenGetParams names a client token of an execution's redrives.
type ExecutionRedriveTokenGetParams struct {
	Arn         string
	ClientToken string
}

// RedriveTokensKept is how many of an execution's last redrive client tokens the store keeps:
// AWS answers the last 10 idempotently.
const RedriveTokensKept = 10

// Redrives is how often an execution was redriven, and when last (Mutations.Now of the
// redrive).
type Redrives struct {
	Count int64
	Date  time.Time
}

// ExecutionRedriveParams resumes an execution that ended FAILED, TIMED_OUT or ABORTED
// (RedriveExecution): a compare-and-swap on Version, like a transition, but from a terminal
// status. The execution gets State, Status (RUNNING, or the terminal status it reached again in
// the redrive's first burst, with its outcome and StopDate) and no lease; Mutations are written
// as a transition's are. ErrConflict when the execution is not ended at Version (it was
// redriven already, or is running, or succeeded).
type ExecutionRedriveParams struct {
	ExecutionArn string
	Version      int64
	State        []byte
	Status       ExecutionStatus
	Output       *string
	Error        *string
	Cause        *string
	StopDate     *time.Time
	// ClientToken, when set, is recorded with the redrive's date (Mutations.Now); the store
	// keeps the execution's last RedriveTokensKept tokens. A token recorded already takes the
	// new date: whether a token is still answered idempotently is the caller's rule.
	ClientToken string
	Mutations
}

// Validate checks the params.
func (p *ExecutionRedriveParams) Validate() error {
	switch {
	case p.ExecutionArn == "" || len(p.State) == 0:
		return invalid("redrive needs an execution ARN and a state")
	case !p.Status.Valid():
		return invalid("redrive status %q", p.Status)
	case p.Status.Terminal() && p.StopDate == nil:
		return invalid("a redrive that ends the execution needs a stop date")
	case p.Now.IsZero():
		return invalid("redrive needs a time")
	}
	return nil
}

// Redrivable reports whether an execution in this status may be redriven.
func (s ExecutionStatus) Redrivable() bool {
	return s == StatusFailed || s == StatusTimedOut || s == StatusAborted
}
