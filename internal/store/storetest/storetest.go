// Package storetest is the conformance suite every store driver must pass. Each driver's tests
// call Run with a constructor for fresh, empty stores; the same test bodies then hold the SQLite
// and the PostgreSQL store to the same behaviour, which is what lets the engine ignore which
// one it runs on.
//
// No test sleeps or reads the clock: times are fixed values passed in, as the engine passes them.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// t0 is the suite's "now"; microsecond precision, as the stores keep it.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

const (
	account = "123456789012"
	nodeA   = "node-a"
	nodeB   = "node-b"
)

// Timers returns every timer row of a store newStore made, due or not, in any order. No Store
// method lists timers: the engine only takes the due ones, by leasing their executions
// (ExecutionClaimDue), which would change the very state a test observes. So each driver reads
// its own tables, read-only, for the suite to check which timers a write kept or removed.
type Timers func(ctx context.Context, s store.Store) ([]*store.Timer, error)

// Run runs the suite. newStore must return a new, empty, migrated store that is cleaned up
// when its test ends; timers observes the stores it returns.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, timers Timers) {
	withTimers := func(test func(*testing.T, store.Store, Timers)) func(*testing.T, store.Store) {
		return func(t *testing.T, s store.Store) { test(t, s, timers) }
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"StateMachineLifecycle", testStateMachineLifecycle},
		{"StateMachineList", testStateMachineList},
		{"ExecutionCreate", withTimers(testExecutionCreate)},
		{"ExecutionCreateBatch", withTimers(testExecutionCreateBatch)},
		{"ExecutionList", testExecutionList},
		{"LeaseAcquire", testLeaseAcquire},
		{"LeaseTakeoverScan", testLeaseTakeoverScan},
		{"LeaseReleaseAll", testLeaseReleaseAll},
		{"ExecutionDeleteClosed", withTimers(testExecutionDeleteClosed)},
		{"CommitVersionConflict", testCommitVersionConflict},
		{"CommitConcurrentSameVersion", withTimers(testCommitConcurrentSameVersion)},
		{"CommitAfterLeaseLost", testCommitAfterLeaseLost},
		{"CommitDuplicateEventWritesNothing", withTimers(testCommitDuplicateEventWritesNothing)},
		{"CommitBatch", testCommitBatch},
		{"CommitTerminal", withTimers(testCommitTerminal)},
		{"HistoryPaging", testHistoryPaging},
		{"ExecutionClaimDue", testExecutionClaimDue},
		{"ExecutionClaimConcurrent", testExecutionClaimConcurrent},
		{"Effects", testEffects},
		{"InboxClosesEffect", testInboxClosesEffect},
		{"Inbox", testInbox},
		{"TaskTokens", testTaskTokens},
		{"Activities", testActivities},
		{"ActivityTaskClaimConcurrent", testActivityTaskClaimConcurrent},
		{"InvalidParams", testInvalidParams},
		{"CommitCancelled", testCommitCancelled},
		{"Closed", testClosed},
		{"TagsReplace", testTagsReplace},
		{"Versions", testVersions},
		{"Aliases", testAliases},
		{"ExecutionRedrive", withTimers(testExecutionRedrive)},
		{"ExecutionRedriveTokens", testExecutionRedriveTokens},
		{"ExecutionListOrigin", testExecutionListOrigin},
		{"ChildHistory", withTimers(testChildHistory)},
		{"Functions", testFunctions},
		{"Glue", testGlue},
		{"Events", testEvents},
		{"Schedules", testSchedules},
		{"ScheduleClaimConcurrent", testScheduleClaimConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

func smArn(name string) string {
	return "arn:aws:states:us-east-1:" + account + ":stateMachine:" + name
}

func execArn(machine, name string) string {
	return "arn:aws:states:us-east-1:" + account + ":execution:" + machine + ":" + name
}

func mustCreateMachine(t *testing.T, s store.Store, name string) *store.StateMachine {
	t.Helper()
	sm, err := s.StateMachineCreate(t.Context(), &store.StateMachineCreateParams{
		Arn: smArn(name), Name: name, Type: store.StateMachineStandard, CreatedAt: t0,
		Tags: []byte(`[{"key":"team","value":"core"}]`),
		Revision: store.Revision{
			RevisionID: name + "-r1", Definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			RoleArn: "arn:aws:iam::" + account + ":role/r", LoggingConfiguration: []byte(`{"level":"OFF"}`),
		},
	})
	if err != nil {
		t.Fatalf("StateMachineCreate(%s): %v", name, err)
	}
	return sm
}

// startOpts tunes mustStart.
type startOpts struct {
	name   string
	start  time.Time
	owner  string // lease owner; "" for none
	events int    // history events 1..events
	timers []*store.TimerInsert
	tokens []*store.TaskTokenInsert
	// version and alias: the execution's origin (ExecutionCreateParams).
	version, alias string
	// children: the first events of Map Run child executions.
	children []*store.ChildHistory
}

func mustStart(t *testing.T, s store.Store, sm *store.StateMachine, o startOpts) *store.Execution {
	t.Helper()
	if o.start.IsZero() {
		o.start = t0
	}
	p := &store.ExecutionCreateParams{
		Arn: execArn(sm.Name, o.name), StateMachineArn: sm.Arn, RevisionID: sm.RevisionID, Name: o.name,
		Type: store.StateMachineStandard, Input: `{"n":1}`, StartDate: o.start, State: []byte("state-1"),
	}
	if o.owner != "" {
		p.LeaseOwner, p.LeaseExpiresAt = o.owner, o.start.Add(time.Minute)
	}
	p.Events = events(1, o.events, o.start)
	p.TimersInsert = o.timers
	p.TaskTokensInsert = o.tokens
	p.VersionArn, p.AliasArn = o.version, o.alias
	p.Children = o.children
	x, err := s.ExecutionCreate(t.Context(), p)
	if err != nil {
		t.Fatalf("ExecutionCreate(%s): %v", o.name, err)
	}
	return x
}

// events returns events with ids from..to, a millisecond apart from at.
func events(from, to int, at time.Time) []*store.HistoryEvent {
	var es []*store.HistoryEvent
	for id := from; id <= to; id++ {
		es = append(es, &store.HistoryEvent{
			ID: int64(id), Type: "PassStateEntered", Timestamp: at.Add(time.Duration(id) * time.Millisecond),
			Payload: fmt.Appendf(nil, `{"id":%d,"type":"PassStateEntered"}`, id),
		})
	}
	return es
}

// step is a running transition of x by owner from its current version.
func step(x *store.Execution, owner string, state string) *store.Transition {
	return &store.Transition{
		ExecutionArn: x.Arn, LeaseOwner: owner, Version: x.Version, State: []byte(state),
		Status: store.StatusRunning, Mutations: store.Mutations{Now: t0},
	}
}

func commit(t *testing.T, s store.Store, trs ...*store.Transition) []error {
	t.Helper()
	res, err := s.TransitionCommitBatch(t.Context(), &store.TransitionCommitBatchParams{Transitions: trs})
	if err != nil {
		t.Fatalf("TransitionCommitBatch: %v", err)
	}
	if len(res) != len(trs) {
		t.Fatalf("TransitionCommitBatch returned %d results for %d transitions", len(res), len(trs))
	}
	return res
}

func mustCommit(t *testing.T, s store.Store, trs ...*store.Transition) {
	t.Helper()
	for i, err := range commit(t, s, trs...) {
		if err != nil {
			t.Fatalf("transition %d: %v", i, err)
		}
	}
}

func mustGet(t *testing.T, s store.Store, arn string) *store.Execution {
	t.Helper()
	x, err := s.ExecutionGet(t.Context(), &store.ExecutionGetParams{Arn: arn, WithState: true})
	if err != nil {
		t.Fatalf("ExecutionGet(%s): %v", arn, err)
	}
	return x
}

func historyIDs(t *testing.T, s store.Store, arn string) []int64 {
	t.Helper()
	res, err := s.HistoryList(t.Context(), &store.HistoryListParams{ExecutionArn: arn, Limit: store.MaxPageSize})
	if err != nil {
		t.Fatalf("HistoryList: %v", err)
	}
	var ids []int64
	for _, e := range res.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

// pendingTimers returns the timers of s as "execution name/timer id@due less t0", sorted.
func pendingTimers(t *testing.T, s store.Store, timers Timers) []string {
	t.Helper()
	ts, err := timers(t.Context(), s)
	if err != nil {
		t.Fatalf("timers: %v", err)
	}
	var keys []string
	for _, tm := range ts {
		name := tm.ExecutionArn[strings.LastIndex(tm.ExecutionArn, ":")+1:]
		keys = append(keys, fmt.Sprintf("%s/%s@%v", name, tm.TimerID, tm.Due.Sub(t0)))
	}
	slices.Sort(keys)
	return keys
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}
