// Package store is the durable memory of Stepline: state machines and their revisions,
// executions, history, timers, the effects outbox, task tokens and activities.
//
// It exists so that the engine can be written once against one interface while the data lives
// in embedded SQLite (one process) or in PostgreSQL shared by several nodes. Both drivers pass
// the same conformance suite (package storetest), which is what keeps them interchangeable.
//
// # The commit protocol
//
// An execution advances only through TransitionCommitBatch. Each Transition is guarded twice:
// by the execution's version (compare-and-swap: the commit names the version it read and the
// store writes Version+1) and by its lease owner (the node that acquired the lease with
// ExecutionLeaseAcquire). Everything a transition writes — the state blob, the status, history
// events, timers, outbox effects, task tokens, consumed inbox messages — is written in the same
// database transaction, or not at all. History events carry ids chosen by the interpreter and
// (execution, event id) is unique, so the same step can never be recorded twice.
//
// # Work rows
//
// Timers, outbox effects and inbox messages are "work rows" with an available-at time. Claiming
// (EffectClaim, InboxClaim) hands a row to one caller by pushing its available-at time to the
// claim's expiry: nobody else sees it until then, and if the claimer dies the row simply
// becomes available again. Timers are not claimed one by one: ExecutionClaimDue leases their
// execution, and the lease hides them the same way. Rows are removed by the commit of the
// transition they cause (Mutations.TimersDelete, EffectsDelete, InboxDelete), so a row is
// consumed exactly when its effect on the execution is durable.
//
// Times are never read from a clock here: every method that needs "now" takes it as a
// parameter. Times are stored with microsecond precision, in UTC.
package store

import (
	"context"
	"slices"
	"time"
)

// Store is implemented by each database driver (store/sqlite, store/postgres).
//
// Methods are named noun-then-verb and take one params struct, so that adding a field never
// changes a signature and related operations sort together.
type Store interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// SchemaVersion returns the migration version the database is at.
	SchemaVersion(ctx context.Context) (int, error)
	// Close releases the database handles. Calls after Close fail.
	Close() error

	// StateMachineCreate stores a state machine and its first revision.
	// ErrStateMachineAlreadyExists when the ARN is taken.
	StateMachineCreate(ctx context.Context, p *StateMachineCreateParams) (*StateMachine, error)
	// StateMachineUpdate adds a revision and makes it the latest. ErrNotFound.
	StateMachineUpdate(ctx context.Context, p *StateMachineUpdateParams) (*StateMachine, error)
	// StateMachineGet returns the latest revision, or the named one (which survives deletion of
	// the machine, because executions stay pinned to it). ErrNotFound.
	StateMachineGet(ctx context.Context, p *StateMachineGetParams) (*StateMachine, error)
	// StateMachineList lists state machines by ARN, one page at a time.
	StateMachineList(ctx context.Context, p *StateMachineListParams) (*StateMachineListResult, error)
	// StateMachineDelete removes the machine; its revisions stay for the executions pinned to
	// them. ErrNotFound.
	StateMachineDelete(ctx context.Context, p *StateMachineDeleteParams) error

	// ExecutionCreate stores a new execution with its first history events and effects, in one
	// transaction. ErrExecutionAlreadyExists when the ARN or (state machine, name) is taken;
	// ErrNotFound when the pinned revision does not exist.
	ExecutionCreate(ctx context.Context, p *ExecutionCreateParams) (*Execution, error)
	// ExecutionCreateBatch stores many new executions in ONE transaction: the group commit of
	// StartExecution. The result has one entry per execution: nil when it was created, else
	// ErrExecutionAlreadyExists or ErrInvalidParams, in which case nothing of it was written. The
	// second return value is a failure of the whole batch (nothing was written).
	ExecutionCreateBatch(ctx context.Context, p *ExecutionCreateBatchParams) ([]error, error)
	// ExecutionGet returns one execution. ErrNotFound.
	ExecutionGet(ctx context.Context, p *ExecutionGetParams) (*Execution, error)
	// ExecutionGetByName returns the execution a state machine started under a name, which is
	// what StartExecution's idempotency rule compares against. ErrNotFound.
	ExecutionGetByName(ctx context.Context, p *ExecutionGetByNameParams) (*Execution, error)
	// ExecutionList lists a state machine's executions, newest first, one page at a time.
	ExecutionList(ctx context.Context, p *ExecutionListParams) (*ExecutionListResult, error)
	// ExecutionLeaseAcquire leases executions to one owner and returns the ones it got, with
	// their state and version. Executions leased by another owner whose lease has not expired,
	// or locked by a concurrent transaction, are skipped rather than waited for.
	ExecutionLeaseAcquire(ctx context.Context, p *ExecutionLeaseAcquireParams) ([]*Execution, error)
	// ExecutionLeaseRelease gives up leases the owner holds; others are left alone.
	ExecutionLeaseRelease(ctx context.Context, p *ExecutionLeaseReleaseParams) error
	// ExecutionDeleteClosed deletes up to p.Limit executions that ended before p.Before, oldest
	// first, with their history and every row of theirs, and returns how many it deleted.
	// Their names are free again: AWS keeps a closed execution, and its name, for 90 days.
	ExecutionDeleteClosed(ctx context.Context, p *ExecutionDeleteClosedParams) (int, error)
	// ExecutionLeaseReleaseAll gives up every lease the owner holds except those on p.Except:
	// an owner that lost track of what it leased (a claim whose answer was lost with the
	// connection, a restart under the same name) frees them at once instead of at expiry.
	ExecutionLeaseReleaseAll(ctx context.Context, p *ExecutionLeaseReleaseAllParams) error

	// TransitionCommitBatch applies transitions of one or many executions in ONE database
	// transaction. The result has one entry per transition: nil when it was applied, an error
	// matching ErrConflict when it was not (stale version, lease lost, execution ended, or a
	// row it writes already exists, such as a recorded event id), in which case nothing of
	// that transition was written. The second return value
	// is a failure of the whole batch (nothing was written).
	TransitionCommitBatch(ctx context.Context, p *TransitionCommitBatchParams) ([]error, error)

	// HistoryList pages through an execution's history events, or a Map Run child execution's
	// (HistoryListParams.Child). An execution that does not exist has no events.
	HistoryList(ctx context.Context, p *HistoryListParams) (*HistoryListResult, error)
	// ChildExecutionGet returns the Map Run child execution p.ExecutionArn: its parent and key.
	// ErrNotFound when no history of that child was recorded.
	ChildExecutionGet(ctx context.Context, p *ChildExecutionGetParams) (*ChildExecution, error)

	// ExecutionClaimDue leases RUNNING executions that have timers due at p.Now and returns them
	// with their state, version and due timers, executions with the earliest due timer first:
	// the engine's claim and lease in one write. Executions leased by anybody (p.Owner
	// included) until after p.Now, or locked by a concurrent transaction, are skipped rather
	// than waited for. The timers are not claimed one by one: while the lease lasts it hides
	// them from other claimers, and the commit that consumes them releases it.
	ExecutionClaimDue(ctx context.Context, p *ExecutionClaimDueParams) ([]*DueExecution, error)

	// EffectClaim claims outbox effects available at p.Now, oldest first.
	EffectClaim(ctx context.Context, p *EffectClaimParams) ([]*Effect, error)
	// EffectDelete removes a carried-out effect whose completion changes no execution state.
	// Deleting an effect that is already gone is not an error: another dispatcher may have
	// carried it out after this one's claim expired.
	EffectDelete(ctx context.Context, p *EffectDeleteParams) error
	// EffectClaimExtend pushes a claimed effect's claim to p.Until: a node whose task runs
	// longer than a claim renews it, so that only the effects of a node that died come back.
	// ErrNotFound when the effect is gone (done, withdrawn, or its execution deleted), which
	// tells the node its task's result is no longer wanted.
	EffectClaimExtend(ctx context.Context, p *EffectClaimExtendParams) error

	// InboxAppend queues a message (an encoded interpreter event) for a running execution, for
	// whichever node holds or next takes its lease. ErrNotFound; ErrExecutionNotRunning.
	InboxAppend(ctx context.Context, p *InboxAppendParams) (*InboxMessage, error)
	// InboxClaim claims inbox messages available at p.Now, oldest first.
	InboxClaim(ctx context.Context, p *InboxClaimParams) ([]*InboxMessage, error)

	// TaskTokenGet returns an open task token. ErrNotFound when it was never issued;
	// ErrTaskTokenClosed when it was, and is closed. A token stays known, closed, for as long
	// as its execution: its row is small beside the execution's history.
	TaskTokenGet(ctx context.Context, p *TaskTokenGetParams) (*TaskToken, error)
	// TaskTokenClose closes an open token and queues the task's result in its execution's
	// inbox, atomically, so that of two SendTaskSuccess/Failure calls exactly one is accepted.
	// ErrNotFound when the token was never issued; ErrTaskTokenClosed when it is closed.
	TaskTokenClose(ctx context.Context, p *TaskTokenCloseParams) (*InboxMessage, error)

	// ActivityCreate creates an activity, or returns the existing one of that name.
	ActivityCreate(ctx context.Context, p *ActivityCreateParams) (*Activity, error)
	// ActivityGet returns one activity. ErrNotFound.
	ActivityGet(ctx context.Context, p *ActivityGetParams) (*Activity, error)
	// ActivityList lists activities by ARN, one page at a time.
	ActivityList(ctx context.Context, p *ActivityListParams) (*ActivityListResult, error)
	// ActivityDelete removes an activity. ErrNotFound.
	ActivityDelete(ctx context.Context, p *ActivityDeleteParams) error
	// ActivityTaskEnqueue queues a task for an activity's workers. Enqueueing a token twice is a
	// no-op, so a dispatcher that re-runs after a crash does not hand out the task twice.
	ActivityTaskEnqueue(ctx context.Context, p *ActivityTaskEnqueueParams) error
	// ActivityTaskClaim hands the oldest unclaimed task of an activity to one worker.
	// ErrNotFound when none is waiting (the caller long-polls).
	ActivityTaskClaim(ctx context.Context, p *ActivityTaskClaimParams) (*ActivityTask, error)

	// StateMachineTagsReplace replaces a state machine's tags, compare-and-swap on the tags
	// read before (see TagsReplaceParams). ErrNotFound; ErrConflict when they changed since.
	StateMachineTagsReplace(ctx context.Context, p *TagsReplaceParams) error
	// ActivityTagsReplace replaces an activity's tags like StateMachineTagsReplace.
	ActivityTagsReplace(ctx context.Context, p *TagsReplaceParams) error

	// StateMachineVersionPublish publishes a machine's latest revision as a version (see
	// VersionPublishParams). ErrNotFound; ErrConflict; ErrVersionLimit.
	StateMachineVersionPublish(ctx context.Context, p *VersionPublishParams) (*VersionPublishResult, error)
	// StateMachineVersionGet returns one version. ErrNotFound.
	StateMachineVersionGet(ctx context.Context, p *VersionGetParams) (*Version, error)
	// StateMachineVersionList lists a machine's versions, newest first, one page at a time.
	StateMachineVersionList(ctx context.Context, p *VersionListParams) (*VersionListResult, error)
	// StateMachineVersionDelete removes a version. ErrNotFound; ErrConflict when an alias
	// routes to it.
	StateMachineVersionDelete(ctx context.Context, p *VersionDeleteParams) error
	// StateMachineAliasCreate creates an alias (see AliasCreateParams).
	StateMachineAliasCreate(ctx context.Context, p *AliasCreateParams) (*Alias, error)
	// StateMachineAliasGet returns one alias with its routes. ErrNotFound.
	StateMachineAliasGet(ctx context.Context, p *AliasGetParams) (*Alias, error)
	// StateMachineAliasUpdate changes an alias (see AliasUpdateParams). ErrNotFound when the
	// alias or a routed version does not exist.
	StateMachineAliasUpdate(ctx context.Context, p *AliasUpdateParams) (*Alias, error)
	// StateMachineAliasDelete removes an alias. ErrNotFound.
	StateMachineAliasDelete(ctx context.Context, p *AliasDeleteParams) error
	// StateMachineAliasList lists a machine's aliases by ARN, one page at a time.
	StateMachineAliasList(ctx context.Context, p *AliasListParams) (*AliasListResult, error)

	// ExecutionRedrive resumes an execution that ended (see ExecutionRedriveParams).
	ExecutionRedrive(ctx context.Context, p *ExecutionRedriveParams) error
	// ExecutionRedriveGet returns how often an execution was redriven; ErrNotFound when never
	// (or when the execution does not exist).
	ExecutionRedriveGet(ctx context.Context, p *ExecutionRedriveGetParams) (*Redrives, error)
	// ExecutionRedriveTokenGet returns the date of the redrive made with a client token, while
	// the token is among the execution's last RedriveTokensKept. ErrNotFound.
	ExecutionRedriveTokenGet(ctx context.Context, p *ExecutionRedriveTokenGetParams) (time.Time, error)

	// FunctionCreate stores a Lambda function. ErrFunctionAlreadyExists.
	FunctionCreate(ctx context.Context, p *FunctionCreateParams) (*Function, error)
	// FunctionGet returns a function, with its code only when asked. ErrNotFound.
	FunctionGet(ctx context.Context, p *FunctionGetParams) (*Function, error)
	// FunctionList lists functions by name, without code, one page at a time.
	FunctionList(ctx context.Context, p *FunctionListParams) (*FunctionListResult, error)
	// FunctionUpdate replaces a function's configuration and maybe its code (see
	// FunctionUpdateParams). ErrNotFound; ErrConflict.
	FunctionUpdate(ctx context.Context, p *FunctionUpdateParams) (*Function, error)
	// FunctionDelete removes a function. ErrNotFound.
	FunctionDelete(ctx context.Context, p *FunctionDeleteParams) error
	// FunctionConcurrencyPut sets or removes a function's reserved concurrency. ErrNotFound.
	FunctionConcurrencyPut(ctx context.Context, p *FunctionConcurrencyPutParams) error

	// GlueCreate stores a Glue entity (catalog object, crawler, job, job run).
	// ErrGlueAlreadyExists; ErrGlueLimit when its parent has ActiveLimit active entities.
	GlueCreate(ctx context.Context, p *GlueCreateParams) (*GlueEntity, error)
	// GlueGet returns one Glue entity. ErrNotFound.
	GlueGet(ctx context.Context, p *GlueGetParams) (*GlueEntity, error)
	// GlueList lists Glue entities of a kind by name, one page at a time.
	GlueList(ctx context.Context, p *GlueListParams) (*GlueListResult, error)
	// GlueUpdate replaces a Glue entity's document (a compare-and-swap when asked).
	// ErrNotFound; ErrConflict.
	GlueUpdate(ctx context.Context, p *GlueUpdateParams) (*GlueEntity, error)
	// GlueDelete removes a Glue entity and the children named. ErrNotFound.
	GlueDelete(ctx context.Context, p *GlueDeleteParams) error

	// EventsCreate stores an EventBridge entity (a connection). ErrEventsAlreadyExists.
	EventsCreate(ctx context.Context, p *EventsCreateParams) (*EventsEntity, error)
	// EventsGet returns one EventBridge entity. ErrNotFound.
	EventsGet(ctx context.Context, p *EventsGetParams) (*EventsEntity, error)
	// EventsList lists EventBridge entities of a kind by name, one page at a time.
	EventsList(ctx context.Context, p *EventsListParams) (*EventsListResult, error)
	// EventsUpdate replaces an EventBridge entity's document (a compare-and-swap when asked).
	// ErrNotFound; ErrConflict.
	EventsUpdate(ctx context.Context, p *EventsUpdateParams) (*EventsEntity, error)
	// EventsDelete removes an EventBridge entity. ErrNotFound.
	EventsDelete(ctx context.Context, p *EventsDeleteParams) error

	// ScheduleCreate stores an EventBridge Scheduler schedule or group. ErrScheduleAlreadyExists.
	ScheduleCreate(ctx context.Context, p *ScheduleCreateParams) (*Schedule, error)
	// ScheduleGet returns one schedule or group. ErrNotFound.
	ScheduleGet(ctx context.Context, p *ScheduleGetParams) (*Schedule, error)
	// ScheduleList lists schedules or groups by (group, name), one page at a time.
	ScheduleList(ctx context.Context, p *ScheduleListParams) (*ScheduleListResult, error)
	// ScheduleUpdate replaces a schedule's document and firing columns (a compare-and-swap when
	// asked) and ends its claim. ErrNotFound; ErrConflict.
	ScheduleUpdate(ctx context.Context, p *ScheduleUpdateParams) (*Schedule, error)
	// ScheduleDelete removes a schedule, or a group with its schedules. ErrNotFound; ErrConflict.
	ScheduleDelete(ctx context.Context, p *ScheduleDeleteParams) error
	// ScheduleClaimDue hands schedules whose next firing is due to one caller until the claim
	// expires (see ScheduleClaimDueParams). Rows locked by a concurrent claim are skipped.
	ScheduleClaimDue(ctx context.Context, p *ScheduleClaimDueParams) ([]*Schedule, error)
}

// StateMachineType is STANDARD or EXPRESS.
type StateMachineType string

// The state machine types.
const (
	StateMachineStandard StateMachineType = "STANDARD"
	StateMachineExpress  StateMachineType = "EXPRESS"
)

// ExecutionStatus is an execution's status as DescribeExecution reports it.
type ExecutionStatus string

// The execution statuses.
const (
	StatusRunning   ExecutionStatus = "RUNNING"
	StatusSucceeded ExecutionStatus = "SUCCEEDED"
	StatusFailed    ExecutionStatus = "FAILED"
	StatusTimedOut  ExecutionStatus = "TIMED_OUT"
	StatusAborted   ExecutionStatus = "ABORTED"
)

// Terminal reports whether an execution in this status has ended.
func (s ExecutionStatus) Terminal() bool { return s != StatusRunning }

// Valid reports whether s is one of the statuses.
func (s ExecutionStatus) Valid() bool {
	switch s {
	case StatusRunning, StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
		return true
	}
	return false
}

// Page sizes: AWS's default and maximum maxResults.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// StateMachine is one revision of a state machine, together with the machine's own fields.
type StateMachine struct {
	Arn       string
	Name      string
	Type      StateMachineType
	CreatedAt time.Time
	// Tags is opaque JSON kept for ListTagsForResource.
	Tags []byte
	// Deleted is true when the machine was deleted and this revision is kept for its executions.
	Deleted bool

	Revision
}

// Revision is what UpdateStateMachine can change. Revisions are immutable; a future published
// version will be a revision with a number.
type Revision struct {
	RevisionID string
	// RevisionCreatedAt is the revision's creation date (DescribeStateMachine's updateDate).
	RevisionCreatedAt    time.Time
	Definition           string
	RoleArn              string
	Description          string
	LoggingConfiguration []byte // opaque JSON
	TracingConfiguration []byte // opaque JSON
}

// StateMachineCreateParams creates a machine; Revision.RevisionCreatedAt defaults to CreatedAt.
type StateMachineCreateParams struct {
	Arn       string
	Name      string
	Type      StateMachineType
	CreatedAt time.Time
	Tags      []byte
	Revision  Revision
}

// StateMachineUpdateParams adds a full revision; the caller merges unchanged fields.
type StateMachineUpdateParams struct {
	Arn      string
	Revision Revision
}

// StateMachineGetParams selects a machine; an empty RevisionID means the latest.
type StateMachineGetParams struct {
	Arn        string
	RevisionID string
}

// StateMachineListParams asks for one page. Limit 0 means DefaultPageSize.
type StateMachineListParams struct {
	Limit  int
	Cursor string
}

// StateMachineListResult is one page; the machines carry no revision fields but RevisionID.
type StateMachineListResult struct {
	StateMachines []*StateMachine
	// NextCursor is empty on the last page.
	NextCursor string
}

// StateMachineDeleteParams names the machine to delete.
type StateMachineDeleteParams struct {
	Arn string
}

// Execution is one execution row.
type Execution struct {
	Arn             string
	StateMachineArn string
	RevisionID      string
	Name            string
	Type            StateMachineType
	Status          ExecutionStatus
	Input           string
	Output          *string
	Error           *string
	Cause           *string
	StartDate       time.Time
	StopDate        *time.Time
	// State is the interpreter's opaque execution state. Lists leave it (and Input, Output)
	// empty; so does ExecutionGet unless asked.
	State []byte
	// Version is what the next TransitionCommit must name; it grows by one per commit.
	Version int64
	// LeaseOwner is empty when no node holds the lease.
	LeaseOwner     string
	LeaseExpiresAt *time.Time
	// VersionArn and AliasArn name the version, and the alias that chose it, the execution was
	// started through (empty when started through the machine's ARN); Redrives is nil when it
	// was never redriven. Only ExecutionList fills them: ListExecutions reports them per item.
	VersionArn string
	AliasArn   string
	Redrives   *Redrives
}

// ExecutionCreateParams describes a new execution. The execution starts RUNNING at Version 1,
// leased to LeaseOwner until LeaseExpiresAt when LeaseOwner is set. An execution that ended in
// its first burst is created with its terminal Status, outcome and StopDate, and no lease.
type ExecutionCreateParams struct {
	Arn             string
	StateMachineArn string
	RevisionID      string
	Name            string
	Type            StateMachineType
	Input           string
	StartDate       time.Time
	State           []byte
	LeaseOwner      string
	LeaseExpiresAt  time.Time
	// Status is empty for RUNNING.
	Status   ExecutionStatus
	Output   *string
	Error    *string
	Cause    *string
	StopDate *time.Time
	// VersionArn and AliasArn name the version, and the alias that chose it, the execution is
	// started through, if any: ExecutionList filters on them.
	VersionArn string
	AliasArn   string
	// Mutations holds the first events, timers, effects and tokens; Now defaults to StartDate.
	Mutations
}

// ExecutionCreateBatchParams creates executions together.
type ExecutionCreateBatchParams struct {
	Executions []*ExecutionCreateParams
}

// ExecutionGetParams selects an execution.
type ExecutionGetParams struct {
	Arn       string
	WithState bool
}

// ExecutionGetByNameParams selects an execution by the name it was started with.
type ExecutionGetByNameParams struct {
	StateMachineArn string
	Name            string
}

// ExecutionListParams asks for one page of a machine's executions; an empty Status means all.
type ExecutionListParams struct {
	StateMachineArn string
	Status          ExecutionStatus
	// Redriven, when set, keeps only the executions that were (true) or were never (false)
	// redriven (ExecutionRedrive).
	Redriven *bool
	// VersionArn or AliasArn, when set, keeps only the executions started through that version
	// or alias (ExecutionCreateParams).
	VersionArn string
	AliasArn   string
	Limit      int
	Cursor     string
}

// ExecutionListResult is one page, newest first.
type ExecutionListResult struct {
	Executions []*Execution
	NextCursor string
}

// ExecutionLeaseAcquireParams asks for leases. With Arns, those executions (whatever their
// status) are leased when free, expired or already Owner's (which renews the lease). Without
// Arns, up to Limit RUNNING executions whose leases expired are taken over, oldest expiry first:
// that is how a node finds the work of a node that died.
type ExecutionLeaseAcquireParams struct {
	Owner     string
	Now       time.Time
	ExpiresAt time.Time
	Arns      []string
	Limit     int
}

// ExecutionLeaseReleaseParams gives up the leases Owner holds on Arns.
type ExecutionLeaseReleaseParams struct {
	Owner string
	Arns  []string
}

// ExecutionDeleteClosedParams deletes executions that ended before Before.
type ExecutionDeleteClosedParams struct {
	Before time.Time
	Limit  int
}

// ExecutionLeaseReleaseAllParams gives up the leases Owner holds on any execution not in Except.
type ExecutionLeaseReleaseAllParams struct {
	Owner  string
	Except []string
}

// TransitionCommitBatchParams is a group commit.
type TransitionCommitBatchParams struct {
	Transitions []*Transition
}

// Transition is one step of one execution. It applies only while the execution is RUNNING:
// an execution that has ended never changes again.
type Transition struct {
	ExecutionArn string
	// LeaseOwner must hold the execution's lease.
	LeaseOwner string
	// Version is the version the transition was computed from.
	Version int64
	State   []byte
	Status  ExecutionStatus
	// Output, Error, Cause and StopDate are written when Status is terminal.
	Output   *string
	Error    *string
	Cause    *string
	StopDate *time.Time
	// ReleaseLease gives up the lease with the commit.
	ReleaseLease bool
	// Mutations are written with the execution row. When Status is terminal the store also
	// removes the execution's remaining timers, activity tasks and inbox messages, and closes
	// its task tokens: an ended execution can have no use for them.
	Mutations
}

// Mutations is what a transition writes besides the execution row.
type Mutations struct {
	// Now stamps the rows written (effect and token creation times).
	Now    time.Time
	Events []*HistoryEvent
	// Timers to start and (by timer id) to cancel or consume.
	TimersInsert []*TimerInsert
	TimersDelete []string
	// Effects to put in the outbox and (by effect id) to remove once their result is recorded.
	EffectsInsert []*EffectInsert
	EffectsDelete []string
	// Task tokens to open and (by token) to close, removing any activity task holding them.
	TaskTokensInsert []*TaskTokenInsert
	TaskTokensDelete []string
	// InboxDelete consumes inbox messages (by id) this transition applied.
	InboxDelete []int64
	// Children are history events of the execution's Map Run child executions. A child
	// execution runs inside its parent, whose state holds its status; only its history is kept
	// apart, under (parent, ChildHistory.Key), and it goes when the parent is deleted.
	// (parent, Key, event id) is unique like an execution's event ids: a transition writing
	// one that exists conflicts. A ChildHistory whose events include ID 1 records the child
	// (its ARN names the parent and Key), and recording an ARN that exists conflicts too. A
	// conflicting transition writes nothing.
	Children []*ChildHistory
}

// ChildHistory is events of one Map Run child execution.
type ChildHistory struct {
	ExecutionArn string
	// Key numbers the child within its parent execution (the interpreter derives it from the
	// Map Run and the item); the store keys the child's events by (parent, Key), so that they
	// are written in order rather than scattered by ARN. The child's ARN is recorded once,
	// with its first event (ID 1).
	Key    int64
	Events []*HistoryEvent
}

// Starts reports whether c holds the child's first event, with which its ARN is recorded.
func (c *ChildHistory) Starts() bool {
	return slices.ContainsFunc(c.Events, func(e *HistoryEvent) bool { return e.ID == 1 })
}

// ChildExecutionGetParams names a Map Run child execution.
type ChildExecutionGetParams struct {
	ExecutionArn string
}

// ChildExecution is a Map Run child execution as the store knows it: the execution whose Map
// Run started it, and its ChildHistory.Key there.
type ChildExecution struct {
	ParentArn string
	Key       int64
}

// HistoryEvent is one event as the interpreter encoded it. The store indexes ID, Type and
// Timestamp and keeps Payload (the event's GetExecutionHistory JSON) as opaque bytes.
type HistoryEvent struct {
	ID        int64
	Type      string
	Timestamp time.Time
	Payload   []byte
}

// HistoryListParams asks for up to Limit events after the event id After in the order asked
// for: ascending ids greater than After, or with Reverse descending ids below After (After 0
// starts at the newest event).
type HistoryListParams struct {
	ExecutionArn string
	// Child says ExecutionArn is a Map Run child execution's (see Mutations.Children).
	Child   bool
	After   int64
	Limit   int
	Reverse bool
}

// HistoryListResult is one page; NextAfter is the After of the next page, 0 on the last page.
type HistoryListResult struct {
	Events    []*HistoryEvent
	NextAfter int64
}

// TimerInsert starts a timer; TimerID is unique within its execution.
type TimerInsert struct {
	TimerID string
	Due     time.Time
}

// Timer is a started timer of an execution (ExecutionClaimDue returns the due ones).
type Timer struct {
	ExecutionArn string
	TimerID      string
	Due          time.Time
}

// ExecutionClaimDueParams leases to Owner, until ExpiresAt, up to Limit executions with timers
// due at Now.
type ExecutionClaimDueParams struct {
	Owner     string
	Now       time.Time
	ExpiresAt time.Time
	Limit     int
}

// DueExecution is an execution leased by ExecutionClaimDue, with State, and its timers due at
// the claim's Now, earliest first.
type DueExecution struct {
	*Execution
	Timers []*Timer
}

// EffectInsert puts an effect in the outbox. AvailableAt (zero: Mutations.Now) lets the
// committing node keep the effect to itself until then, so that it can dispatch the effect
// at once without another node racing it, while a crash only delays it.
type EffectInsert struct {
	EffectID       string
	Kind           string
	IdempotencyKey string
	Payload        []byte
	AvailableAt    time.Time
}

// Effect is an outbox row.
type Effect struct {
	ExecutionArn   string
	EffectID       string
	Kind           string
	IdempotencyKey string
	Payload        []byte
	CreatedAt      time.Time
}

// EffectClaimParams claims up to Limit effects available at Now, until ClaimUntil.
type EffectClaimParams struct {
	Now        time.Time
	ClaimUntil time.Time
	Limit      int
}

// EffectClaimExtendParams renews the claim of one effect until Until.
type EffectClaimExtendParams struct {
	ExecutionArn string
	EffectID     string
	Until        time.Time
}

// EffectDeleteParams names an effect.
type EffectDeleteParams struct {
	ExecutionArn string
	EffectID     string
}

// InboxMessage is a message queued for an execution.
type InboxMessage struct {
	ID           int64
	ExecutionArn string
	Payload      []byte
	CreatedAt    time.Time
}

// InboxAppendParams queues Payload for ExecutionArn.
type InboxAppendParams struct {
	ExecutionArn string
	Payload      []byte
	Now          time.Time
	// EffectID, when set, names the effect whose result the message is: it is removed in the
	// same transaction, which saves a task result a second write. When the execution is not
	// running nothing is written, the effect included.
	EffectID string
}

// InboxClaimParams claims up to Limit messages available at Now, until ClaimUntil.
type InboxClaimParams struct {
	Now        time.Time
	ClaimUntil time.Time
	Limit      int
}

// TaskTokenInsert opens a token for one of the execution's tasks.
type TaskTokenInsert struct {
	Token  string
	TaskID string
}

// TaskToken is an open task token.
type TaskToken struct {
	Token        string
	ExecutionArn string
	TaskID       string
	CreatedAt    time.Time
}

// TaskTokenGetParams names a token.
type TaskTokenGetParams struct {
	Token string
}

// TaskTokenCloseParams closes Token and queues Payload for its execution.
type TaskTokenCloseParams struct {
	Token   string
	Payload []byte
	Now     time.Time
}

// Activity is an activity resource.
type Activity struct {
	Arn       string
	Name      string
	CreatedAt time.Time
	Tags      []byte // opaque JSON
}

// ActivityCreateParams creates an activity.
type ActivityCreateParams struct {
	Arn       string
	Name      string
	CreatedAt time.Time
	Tags      []byte
}

// ActivityGetParams names an activity.
type ActivityGetParams struct {
	Arn string
}

// ActivityListParams asks for one page.
type ActivityListParams struct {
	Limit  int
	Cursor string
}

// ActivityListResult is one page.
type ActivityListResult struct {
	Activities []*Activity
	NextCursor string
}

// ActivityDeleteParams names an activity.
type ActivityDeleteParams struct {
	Arn string
}

// ActivityTask is a task waiting for (or handed to) an activity worker.
type ActivityTask struct {
	Token        string
	ActivityArn  string
	ExecutionArn string
	Input        string
	EnqueuedAt   time.Time
	WorkerName   string
	ClaimedAt    *time.Time
}

// ActivityTaskEnqueueParams queues a task; Token identifies it.
type ActivityTaskEnqueueParams struct {
	Token        string
	ActivityArn  string
	ExecutionArn string
	Input        string
	Now          time.Time
}

// ActivityTaskClaimParams asks for one task of ActivityArn for WorkerName.
type ActivityTaskClaimParams struct {
	ActivityArn string
	WorkerName  string
	Now         time.Time
}
