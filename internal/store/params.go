package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Validate methods are called by every driver before touching the database, so that both
// reject the same mistakes with the same ErrInvalidParams instead of with whatever constraint
// their SQL happens to trip.

// Validate checks the params.
func (p *StateMachineCreateParams) Validate() error {
	switch {
	case p.Arn == "" || p.Name == "":
		return invalid("state machine needs an ARN and a name")
	case p.Type != StateMachineStandard && p.Type != StateMachineExpress:
		return invalid("state machine type %q", p.Type)
	case p.CreatedAt.IsZero():
		return invalid("state machine needs a creation date")
	}
	return p.Revision.validate()
}

// Validate checks the params.
func (p *StateMachineUpdateParams) Validate() error {
	if p.Arn == "" {
		return invalid("state machine update needs an ARN")
	}
	if p.Revision.RevisionCreatedAt.IsZero() {
		return invalid("revision needs a creation date")
	}
	return p.Revision.validate()
}

func (r *Revision) validate() error {
	if r.RevisionID == "" || r.Definition == "" {
		return invalid("revision needs an id and a definition")
	}
	return nil
}

// Validate checks the params.
func (p *ExecutionCreateParams) Validate() error {
	switch {
	case p.Arn == "" || p.StateMachineArn == "" || p.RevisionID == "" || p.Name == "":
		return invalid("execution needs an ARN, a state machine ARN, a revision and a name")
	case p.Type != StateMachineStandard && p.Type != StateMachineExpress:
		return invalid("execution type %q", p.Type)
	case p.StartDate.IsZero():
		return invalid("execution needs a start date")
	case p.LeaseOwner != "" && !p.LeaseExpiresAt.After(p.StartDate):
		return invalid("a lease must expire after the start date")
	case len(p.TimersDelete)+len(p.EffectsDelete)+len(p.TaskTokensDelete)+len(p.InboxDelete) > 0:
		return invalid("a new execution has nothing to delete")
	case p.Status != "" && !p.Status.Valid():
		return invalid("execution status %q", p.Status)
	case p.InitialStatus().Terminal() && (p.StopDate == nil || p.LeaseOwner != ""):
		return invalid("an execution created ended needs a stop date and no lease")
	}
	return nil
}

// InitialStatus returns the status a driver stores for p: RUNNING when none is given.
func (p *ExecutionCreateParams) InitialStatus() ExecutionStatus {
	if p.Status == "" {
		return StatusRunning
	}
	return p.Status
}

// Validate checks the params.
func (p *ExecutionLeaseAcquireParams) Validate() error {
	switch {
	case p.Owner == "":
		return invalid("lease needs an owner")
	case !p.ExpiresAt.After(p.Now):
		return invalid("lease must expire after now")
	case len(p.Arns) == 0 && p.Limit <= 0:
		return invalid("lease takeover needs a positive limit")
	}
	return nil
}

// Validate checks the params.
func (p *ExecutionDeleteClosedParams) Validate() error {
	switch {
	case p.Before.IsZero():
		return invalid("deleting closed executions needs a time they ended before")
	case p.Limit <= 0:
		return invalid("deleting closed executions needs a positive limit")
	}
	return nil
}

// Validate checks the params.
func (p *ExecutionLeaseReleaseAllParams) Validate() error {
	if p.Owner == "" {
		return invalid("releasing all leases needs an owner")
	}
	return nil
}

// Validate checks the params.
func (p *ExecutionClaimDueParams) Validate() error {
	switch {
	case p.Owner == "":
		return invalid("lease needs an owner")
	case !p.ExpiresAt.After(p.Now):
		return invalid("lease must expire after now")
	case p.Limit <= 0:
		return invalid("a claim needs a positive limit")
	}
	return nil
}

// Validate checks the params.
func (p *TransitionCommitBatchParams) Validate() error {
	for i, t := range p.Transitions {
		switch {
		case t.ExecutionArn == "" || t.LeaseOwner == "":
			return invalid("transition %d needs an execution ARN and a lease owner", i)
		case !t.Status.Valid():
			return invalid("transition %d: status %q", i, t.Status)
		case t.Status.Terminal() && t.StopDate == nil:
			return invalid("transition %d ends the execution without a stop date", i)
		case t.Now.IsZero() && (len(t.EffectsInsert) > 0 || len(t.TaskTokensInsert) > 0):
			return invalid("transition %d inserts rows without a time", i)
		}
	}
	return nil
}

// Validate checks the params.
func (p *EffectClaimParams) Validate() error { return validateClaim(p.Now, p.ClaimUntil, p.Limit) }

// Validate checks the params.
func (p *InboxClaimParams) Validate() error { return validateClaim(p.Now, p.ClaimUntil, p.Limit) }

func validateClaim(now, until time.Time, limit int) error {
	if !until.After(now) {
		return invalid("a claim must last beyond now")
	}
	if limit <= 0 {
		return invalid("a claim needs a positive limit")
	}
	return nil
}

// PageLimit turns a requested page size into the one to use: 0 means DefaultPageSize, and
// sizes beyond MaxPageSize are refused as AWS refuses them.
func PageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, invalid("page size %d outside 1..%d", n, MaxPageSize)
	}
	return n, nil
}

// Cursor is the position after the last row of a page: a sort time (for lists sorted by date)
// and a unique key that breaks ties. Drivers encode it the same way so that cursors mean the
// same thing whichever database served the page.
type Cursor struct {
	Time time.Time
	Key  string
}

// Encode returns the cursor as an opaque token.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Time.UnixMicro(), 10) + "|" + c.Key))
}

// CursorKey is the key a page of a list ordered by key starts after: "" for the first page.
func CursorKey(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	c, err := DecodeCursor(cursor)
	if err != nil {
		return "", err
	}
	return c.Key, nil
}

// DecodeCursor parses a token made by Encode. ErrInvalidCursor.
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	ts, key, ok := strings.Cut(string(b), "|")
	if !ok || key == "" {
		return Cursor{}, ErrInvalidCursor
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	return Cursor{Time: time.UnixMicro(t).UTC(), Key: key}, nil
}
