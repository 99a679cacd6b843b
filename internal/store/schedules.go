package store

import (
	"errors"
	"time"
)

// ErrScheduleAlreadyExists: a schedule or schedule group of that name exists.
var ErrScheduleAlreadyExists = errors.New("store: schedule already exists")

// Schedule entity kinds: EventBridge Scheduler's schedule groups and schedules, and the
// EventBridge rules with a ScheduleExpression that the scheduler fires (group: the bus).
const (
	ScheduleKindGroup    = "group"
	ScheduleKindSchedule = "schedule"
	ScheduleKindRule     = "rule"
)

// Schedule is one EventBridge Scheduler entity as package scheduler keeps it. The store reads
// the key, the state and the firing columns, and not Doc (JSON owned by package scheduler).
//
// Due is when the schedule's next firing is to be carried out (its nominal time plus any
// flexible-window offset or retry delay), Nominal the firing's scheduled time, Attempt how
// many times carrying it out failed so far: nil Due means nothing is due (disabled, or no
// firing left). SchedulerClaimDue hands due schedules to one firer at a time.
type Schedule struct {
	Kind    string
	Group   string
	Name    string
	State   string
	Doc     []byte
	Version int64 // 1 when created, +1 on every update
	Due     *time.Time
	Nominal *time.Time
	Attempt int
	// CreatedAt and UpdatedAt are when the entity was created and last written.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ScheduleCreateParams stores a new entity. ErrScheduleAlreadyExists.
type ScheduleCreateParams struct {
	Kind, Group, Name string
	State             string
	Doc               []byte
	Due, Nominal      *time.Time
	Now               time.Time
}

// ScheduleGetParams names one entity (Group is "" for a group). ErrNotFound.
type ScheduleGetParams struct {
	Kind, Group, Name string
}

// ScheduleListParams asks for one page of the entities of a kind ordered by (group, name):
// of one group when Group is set (schedules), only those whose name starts with Prefix,
// only those in State when set.
type ScheduleListParams struct {
	Kind   string
	Group  string
	Prefix string
	State  string
	Limit  int
	Cursor string
}

// ScheduleListResult is one page.
type ScheduleListResult struct {
	Schedules  []*Schedule
	NextCursor string
}

// ScheduleUpdateParams replaces an entity's state, document and firing columns, and ends any
// claim on it. When IfVersion > 0 it is a compare-and-swap: ErrConflict unless the stored
// version is IfVersion. ErrNotFound.
type ScheduleUpdateParams struct {
	Kind, Group, Name string
	IfVersion         int64
	State             string
	Doc               []byte
	Due, Nominal      *time.Time
	Attempt           int
	Now               time.Time
}

// ScheduleDeleteParams deletes an entity; a group goes with its schedules. When IfVersion > 0
// it is a compare-and-swap (ErrConflict). ErrNotFound.
type ScheduleDeleteParams struct {
	Kind, Group, Name string
	IfVersion         int64
}

// ScheduleClaimDueParams claims, until Until, up to Limit entities (schedules and rules) due at
// Now whose claim (if any) expired, earliest due first. Claiming does not change a schedule's version, so that the
// claimer's update can compare-and-swap on the version it got; any update ends the claim.
type ScheduleClaimDueParams struct {
	Now, Until time.Time
	Limit      int
}

// Validate checks the params.
func (p *ScheduleCreateParams) Validate() error {
	switch {
	case p.Kind == "" || p.Name == "" || len(p.Doc) == 0:
		return invalid("schedule entity needs a kind, a name and a document")
	case p.Now.IsZero():
		return invalid("schedule entity needs a date")
	case (p.Due == nil) != (p.Nominal == nil):
		return invalid("schedule entity needs both a due and a nominal time, or neither")
	}
	return nil
}

// Validate checks the params.
func (p *ScheduleUpdateParams) Validate() error {
	switch {
	case p.Kind == "" || p.Name == "" || len(p.Doc) == 0:
		return invalid("schedule update needs a kind, a name and a document")
	case p.Now.IsZero():
		return invalid("schedule update needs a date")
	case (p.Due == nil) != (p.Nominal == nil):
		return invalid("schedule update needs both a due and a nominal time, or neither")
	}
	return nil
}

// Validate checks the params.
func (p *ScheduleClaimDueParams) Validate() error {
	if p.Now.IsZero() || !p.Until.After(p.Now) || p.Limit <= 0 {
		return invalid("schedule claim needs a date, a later claim expiry and a limit")
	}
	return nil
}

// ScheduleCursorKey is the cursor key of a schedule list's last entity: names hold no NUL.
func ScheduleCursorKey(group, name string) string { return group + "\x00" + name }

// ScheduleCursorSplit undoes ScheduleCursorKey; "" gives the start.
func ScheduleCursorSplit(key string) (group, name string) {
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return key[:i], key[i+1:]
		}
	}
	return key, ""
}
