package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func testLeaseAcquire(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x1 := mustStart(t, s, sm, startOpts{name: "x1", owner: nodeA}) // A's until t0+1m
	x2 := mustStart(t, s, sm, startOpts{name: "x2"})

	acquire := func(owner string, now, until time.Time, arns ...string) []*store.Execution {
		t.Helper()
		xs, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{
			Owner: owner, Now: now, ExpiresAt: until, Arns: arns})
		if err != nil {
			t.Fatalf("ExecutionLeaseAcquire: %v", err)
		}
		return xs
	}
	got := acquire(nodeB, t0.Add(30*time.Second), t0.Add(90*time.Second), x1.Arn, x2.Arn, execArn("m", "missing"))
	if len(got) != 1 || got[0].Arn != x2.Arn || got[0].LeaseOwner != nodeB ||
		!got[0].LeaseExpiresAt.Equal(t0.Add(90*time.Second)) || string(got[0].State) != "state-1" || got[0].Version != 1 {
		t.Fatalf("B acquired %+v, want x2 only", got)
	}
	// A renews its own lease before it expires.
	if got := acquire(nodeA, t0.Add(30*time.Second), t0.Add(2*time.Minute), x1.Arn); len(got) != 1 ||
		!got[0].LeaseExpiresAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("A renewing got %+v", got)
	}
	if got := acquire(nodeB, t0.Add(119*time.Second), t0.Add(5*time.Minute), x1.Arn); len(got) != 0 {
		t.Fatalf("B took x1 before A's lease expired: %+v", got)
	}
	// A lease is over at its expiry instant.
	if got := acquire(nodeB, t0.Add(2*time.Minute), t0.Add(5*time.Minute), x1.Arn); len(got) != 1 || got[0].LeaseOwner != nodeB {
		t.Fatalf("B taking over expired x1 got %+v", got)
	}
	// Releasing what one does not hold changes nothing.
	if err := s.ExecutionLeaseRelease(ctx, &store.ExecutionLeaseReleaseParams{Owner: nodeA, Arns: []string{x1.Arn}}); err != nil {
		t.Fatalf("ExecutionLeaseRelease: %v", err)
	}
	if x := mustGet(t, s, x1.Arn); x.LeaseOwner != nodeB {
		t.Fatalf("x1 owner after A's release = %q", x.LeaseOwner)
	}
	if err := s.ExecutionLeaseRelease(ctx, &store.ExecutionLeaseReleaseParams{Owner: nodeB, Arns: []string{x1.Arn, x2.Arn}}); err != nil {
		t.Fatalf("ExecutionLeaseRelease: %v", err)
	}
	for _, arn := range []string{x1.Arn, x2.Arn} {
		if x := mustGet(t, s, arn); x.LeaseOwner != "" || x.LeaseExpiresAt != nil {
			t.Fatalf("%s still leased after release: %+v", arn, x)
		}
	}
	if got := acquire(nodeA, t0, t0.Add(time.Minute), x1.Arn); len(got) != 1 {
		t.Fatalf("A acquiring released x1 got %+v", got)
	}
}

// testExecutionDeleteClosed deletes the executions that ended before a time, oldest first and
// a limited number at a time, with everything of theirs; running ones and later ones stay, and
// a deleted execution's name can be used again.
func testExecutionDeleteClosed(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	act, err := s.ActivityCreate(ctx, &store.ActivityCreateParams{Arn: activityArn("w"), Name: "w", CreatedAt: t0})
	if err != nil {
		t.Fatalf("ActivityCreate: %v", err)
	}
	enqueue := func(x *store.Execution) {
		t.Helper()
		if err := s.ActivityTaskEnqueue(ctx, &store.ActivityTaskEnqueueParams{Token: "act-" + x.Name, ActivityArn: act.Arn,
			ExecutionArn: x.Arn, Input: `{}`, Now: t0}); err != nil {
			t.Fatalf("ActivityTaskEnqueue: %v", err)
		}
	}
	endAt := func(name string, stop time.Time) *store.Execution {
		x := mustStart(t, s, sm, startOpts{name: name, owner: nodeA, events: 1,
			timers:   []*store.TimerInsert{{TimerID: "wait", Due: t0.Add(time.Hour)}},
			tokens:   []*store.TaskTokenInsert{{Token: "tok-" + name, TaskID: "task-1"}},
			children: []*store.ChildHistory{{ExecutionArn: childArn("m", "run", name), Key: 1, Events: events(1, 2, t0)}}})
		// An activity task left unclaimed when its execution ended (a worker that never came).
		enqueue(x)
		tr := step(x, nodeA, "ended")
		tr.Status, tr.StopDate, tr.ReleaseLease = store.StatusSucceeded, &stop, true
		tr.Output = ptr(`{}`)
		tr.Events = events(2, 2, stop)
		mustCommit(t, s, tr)
		return x
	}
	oldest := endAt("oldest", t0.Add(time.Minute))
	old := endAt("old", t0.Add(2*time.Minute))
	recent := endAt("recent", t0.Add(time.Hour))
	running := mustStart(t, s, sm, startOpts{name: "running", events: 1,
		timers: []*store.TimerInsert{{TimerID: "wait", Due: t0.Add(time.Hour)}}})
	enqueue(running)
	cutoff := t0.Add(30 * time.Minute)

	wantErr(t, "no limit", errOnly(s.ExecutionDeleteClosed(ctx, &store.ExecutionDeleteClosedParams{Before: cutoff})), store.ErrInvalidParams)
	wantErr(t, "no time", errOnly(s.ExecutionDeleteClosed(ctx, &store.ExecutionDeleteClosedParams{Limit: 1})), store.ErrInvalidParams)
	for _, want := range []struct {
		n    int
		gone *store.Execution
	}{{1, oldest}, {1, old}, {0, nil}} {
		n, err := s.ExecutionDeleteClosed(ctx, &store.ExecutionDeleteClosedParams{Before: cutoff, Limit: 1})
		if err != nil || n != want.n {
			t.Fatalf("ExecutionDeleteClosed = %d, %v; want %d", n, err, want.n)
		}
		if want.gone == nil {
			continue
		}
		_, err = s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: want.gone.Arn})
		wantErr(t, "a deleted execution", err, store.ErrNotFound)
		if ids := historyIDs(t, s, want.gone.Arn); len(ids) != 0 {
			t.Fatalf("history of a deleted execution: %v", ids)
		}
		_, err = s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "tok-" + want.gone.Name})
		wantErr(t, "a deleted execution's token", err, store.ErrNotFound)
		_, err = s.ChildExecutionGet(ctx, &store.ChildExecutionGetParams{ExecutionArn: childArn("m", "run", want.gone.Name)})
		wantErr(t, "a deleted execution's Map Run child", err, store.ErrNotFound)
	}
	// No timer or activity task of a deleted execution is left (the oldest task, enqueued
	// first, would be claimed first); the running execution's are.
	ts, err := timers(ctx, s)
	if err != nil {
		t.Fatalf("timers: %v", err)
	}
	for _, tm := range ts {
		if tm.ExecutionArn == oldest.Arn || tm.ExecutionArn == old.Arn {
			t.Fatalf("timer of a deleted execution: %+v", tm)
		}
	}
	if !slices.ContainsFunc(ts, func(tm *store.Timer) bool { return tm.ExecutionArn == running.Arn }) {
		t.Fatalf("the running execution's timer is gone: %+v", ts)
	}
	task, err := s.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: act.Arn, WorkerName: "w", Now: t0})
	if err != nil || task.ExecutionArn != running.Arn {
		t.Fatalf("ActivityTaskClaim = %+v, %v; want the running execution's task", task, err)
	}
	_, err = s.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: act.Arn, WorkerName: "w", Now: t0})
	wantErr(t, "claim after the running execution's task", err, store.ErrNotFound)
	for _, x := range []*store.Execution{recent, running} {
		if got := mustGet(t, s, x.Arn); got.Arn != x.Arn || len(historyIDs(t, s, x.Arn)) == 0 {
			t.Fatalf("%s lost: %+v", x.Name, got)
		}
	}
	// The name is free again, and the new execution has only its own history.
	again := mustStart(t, s, sm, startOpts{name: "oldest", events: 1})
	if ids := historyIDs(t, s, again.Arn); !slices.Equal(ids, []int64{1}) {
		t.Fatalf("history of the name's new execution: %v", ids)
	}
}

func errOnly(_ int, err error) error { return err }

// testLeaseReleaseAll has an owner give up every lease it holds but one; the other owner's
// lease stays.
func testLeaseReleaseAll(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x1 := mustStart(t, s, sm, startOpts{name: "x1", owner: nodeA})
	x2 := mustStart(t, s, sm, startOpts{name: "x2", owner: nodeA})
	x3 := mustStart(t, s, sm, startOpts{name: "x3", owner: nodeA})
	y := mustStart(t, s, sm, startOpts{name: "y", owner: nodeB})
	wantErr(t, "release all without an owner", s.ExecutionLeaseReleaseAll(ctx, &store.ExecutionLeaseReleaseAllParams{}), store.ErrInvalidParams)
	if err := s.ExecutionLeaseReleaseAll(ctx, &store.ExecutionLeaseReleaseAllParams{Owner: nodeA, Except: []string{x2.Arn}}); err != nil {
		t.Fatalf("ExecutionLeaseReleaseAll: %v", err)
	}
	for _, c := range []struct {
		x     *store.Execution
		owner string
	}{{x1, ""}, {x2, nodeA}, {x3, ""}, {y, nodeB}} {
		if got := mustGet(t, s, c.x.Arn); got.LeaseOwner != c.owner {
			t.Errorf("%s: lease owner %q, want %q", c.x.Name, got.LeaseOwner, c.owner)
		}
	}
	if err := s.ExecutionLeaseReleaseAll(ctx, &store.ExecutionLeaseReleaseAllParams{Owner: nodeA}); err != nil {
		t.Fatalf("ExecutionLeaseReleaseAll: %v", err)
	}
	if got := mustGet(t, s, x2.Arn); got.LeaseOwner != "" {
		t.Errorf("x2 still leased to %q", got.LeaseOwner)
	}
}

func testLeaseTakeoverScan(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x1 := mustStart(t, s, sm, startOpts{name: "x1", owner: nodeA})                             // until t0+1m
	x2 := mustStart(t, s, sm, startOpts{name: "x2", owner: nodeA, start: t0.Add(time.Minute)}) // until t0+2m
	mustStart(t, s, sm, startOpts{name: "idle"})
	ended := mustStart(t, s, sm, startOpts{name: "ended", owner: nodeA})
	tr := step(ended, nodeA, "done")
	tr.Status, tr.Output, tr.StopDate = store.StatusSucceeded, ptr("{}"), ptr(t0)
	mustCommit(t, s, tr) // keeps its (expiring) lease, but an ended execution needs no taking over

	scan := func(now time.Time, limit int) []string {
		t.Helper()
		xs, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{
			Owner: nodeB, Now: now, ExpiresAt: now.Add(10 * time.Minute), Limit: limit})
		if err != nil {
			t.Fatalf("ExecutionLeaseAcquire: %v", err)
		}
		var arns []string
		for _, x := range xs {
			arns = append(arns, x.Arn)
			if x.LeaseOwner != nodeB || x.State == nil {
				t.Errorf("taken over %+v", x)
			}
		}
		slices.Sort(arns)
		return arns
	}
	if got := scan(t0.Add(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("took over live leases: %v", got)
	}
	if got := scan(t0.Add(90*time.Second), 10); !slices.Equal(got, []string{x1.Arn}) {
		t.Fatalf("took over %v, want x1", got)
	}
	if got := scan(t0.Add(3*time.Minute), 1); !slices.Equal(got, []string{x2.Arn}) {
		t.Fatalf("took over %v, want x2", got)
	}
	if got := scan(t0.Add(4*time.Minute), 10); len(got) != 0 {
		t.Fatalf("took over %v, want nothing", got)
	}
}

func testCommitVersionConflict(t *testing.T, s store.Store) {
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, events: 1})
	first := step(x, nodeA, "state-2")
	first.Events = events(2, 2, t0)
	mustCommit(t, s, first)
	if got := mustGet(t, s, x.Arn); got.Version != 2 || string(got.State) != "state-2" || got.LeaseOwner != nodeA {
		t.Fatalf("after commit: %+v", got)
	}
	tests := []struct {
		name string
		tr   *store.Transition
	}{
		{"same version again", step(x, nodeA, "state-2b")},
		{"version from the future", &store.Transition{ExecutionArn: x.Arn, LeaseOwner: nodeA, Version: 3, Status: store.StatusRunning}},
		{"not the lease owner", &store.Transition{ExecutionArn: x.Arn, LeaseOwner: nodeB, Version: 2, Status: store.StatusRunning}},
		{"no such execution", &store.Transition{ExecutionArn: execArn("m", "nope"), LeaseOwner: nodeA, Version: 1, Status: store.StatusRunning}},
	}
	for _, tt := range tests {
		tt.tr.Events = events(3, 3, t0)
		wantErr(t, tt.name, commit(t, s, tt.tr)[0], store.ErrConflict)
	}
	if got := mustGet(t, s, x.Arn); got.Version != 2 || string(got.State) != "state-2" {
		t.Fatalf("after refused commits: %+v", got)
	}
	if ids := historyIDs(t, s, x.Arn); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("history after refused commits = %v", ids)
	}
}

func testCommitConcurrentSameVersion(t *testing.T, s store.Store, timers Timers) {
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, events: 1})
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tr := step(x, nodeA, fmt.Sprintf("state-from-%d", i))
			tr.Events = events(2, 3, t0)
			tr.TimersInsert = []*store.TimerInsert{{TimerID: fmt.Sprintf("timer-%d", i), Due: t0}}
			res, err := s.TransitionCommitBatch(t.Context(), &store.TransitionCommitBatchParams{Transitions: []*store.Transition{tr}})
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = res[0]
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("commits %d and %d of the same version both won", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, "losing commit", err, store.ErrConflict)
		}
	}
	if winner < 0 {
		t.Fatalf("no commit won: %v", errs)
	}
	got := mustGet(t, s, x.Arn)
	if got.Version != 2 || string(got.State) != fmt.Sprintf("state-from-%d", winner) {
		t.Fatalf("after race: %+v, winner %d", got, winner)
	}
	if ts, want := pendingTimers(t, s, timers), []string{fmt.Sprintf("x/timer-%d@0s", winner)}; !slices.Equal(ts, want) {
		t.Fatalf("timers after race = %v; want only the winner's, %v", ts, want)
	}
}

func testCommitAfterLeaseLost(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA}) // A's until t0+1m
	got, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{
		Owner: nodeB, Now: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(3 * time.Minute), Arns: []string{x.Arn}})
	if err != nil || len(got) != 1 {
		t.Fatalf("B taking over: %v, %v", got, err)
	}
	// A, unaware, commits what it computed from version 1: refused although B has not yet
	// committed anything, so the version alone would not have stopped it.
	wantErr(t, "commit by the old owner", commit(t, s, step(x, nodeA, "from-a"))[0], store.ErrConflict)
	mustCommit(t, s, step(got[0], nodeB, "from-b"))
	if x := mustGet(t, s, x.Arn); string(x.State) != "from-b" || x.Version != 2 {
		t.Fatalf("after takeover: %+v", x)
	}

	// An expired lease nobody took over still lets its owner commit: expiry only decides who
	// may acquire, so a slow node loses work only when another node actually needs it.
	y := mustStart(t, s, sm, startOpts{name: "y", owner: nodeA})
	late := step(y, nodeA, "late")
	late.Now = t0.Add(time.Hour)
	mustCommit(t, s, late)
}

func testCommitDuplicateEventWritesNothing(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, events: 2,
		timers: []*store.TimerInsert{{TimerID: "old", Due: t0}}})
	y := mustStart(t, s, sm, startOpts{name: "y", owner: nodeA, events: 1})

	bad := step(x, nodeA, "never")
	bad.Status, bad.Output, bad.StopDate = store.StatusSucceeded, ptr(`"out"`), ptr(t0)
	bad.Events = events(3, 3, t0)
	bad.Events = append(bad.Events, events(2, 2, t0)...) // 2 is already recorded
	bad.TimersInsert = []*store.TimerInsert{{TimerID: "new", Due: t0}}
	bad.TimersDelete = []string{"old"}
	bad.EffectsInsert = []*store.EffectInsert{{EffectID: "e", Kind: "task", IdempotencyKey: "k"}}
	bad.TaskTokensInsert = []*store.TaskTokenInsert{{Token: "tok", TaskID: "t"}}
	bad.ReleaseLease = true
	good := step(y, nodeA, "y-2")
	good.Events = events(2, 2, t0)

	res := commit(t, s, bad, good)
	wantErr(t, "transition repeating an event id", res[0], store.ErrConflict)
	if res[1] != nil {
		t.Fatalf("the other transition of the batch: %v", res[1])
	}

	got := mustGet(t, s, x.Arn)
	if got.Version != 1 || string(got.State) != "state-1" || got.Status != store.StatusRunning ||
		got.Output != nil || got.StopDate != nil || got.LeaseOwner != nodeA {
		t.Fatalf("execution after the refused transition: %+v", got)
	}
	if ids := historyIDs(t, s, x.Arn); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("history = %v", ids)
	}
	if ts := pendingTimers(t, s, timers); !slices.Equal(ts, []string{"x/old@0s"}) {
		t.Fatalf("timers = %v; want only the old one", ts)
	}
	es, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: t0.Add(time.Hour), ClaimUntil: t0.Add(2 * time.Hour), Limit: 10})
	if err != nil || len(es) != 0 {
		t.Fatalf("effects = %v, %v; want none", es, err)
	}
	_, err = s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "tok"})
	wantErr(t, "token of the refused transition", err, store.ErrNotFound)

	if got := mustGet(t, s, y.Arn); got.Version != 2 || string(got.State) != "y-2" {
		t.Fatalf("other execution: %+v", got)
	}
	if ids := historyIDs(t, s, y.Arn); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("other execution's history = %v", ids)
	}

	fixed := step(x, nodeA, "state-2")
	fixed.Events = events(3, 3, t0)
	mustCommit(t, s, fixed)
}

func testCommitBatch(t *testing.T, s store.Store) {
	sm := mustCreateMachine(t, s, "m")
	var xs []*store.Execution
	for i := range 5 {
		xs = append(xs, mustStart(t, s, sm, startOpts{name: fmt.Sprint("x", i), owner: nodeA, events: 1}))
	}
	withEvents := func(tr *store.Transition, from int) *store.Transition {
		tr.Events = events(from, from, t0)
		return tr
	}
	x1v2 := *xs[1]
	x1v2.Version = 2
	stale := *xs[3]
	stale.Version = 7
	batch := []*store.Transition{
		withEvents(step(xs[0], nodeA, "x0-2"), 2),
		withEvents(step(xs[1], nodeA, "x1-2"), 2),
		withEvents(step(&x1v2, nodeA, "x1-3"), 3), // builds on the previous transition of the batch
		withEvents(step(xs[2], nodeA, "x2-2"), 2),
		withEvents(step(xs[2], nodeA, "x2-2b"), 3), // same version as the one before: loses
		withEvents(step(&stale, nodeA, "x3-8"), 2),
		withEvents(step(xs[4], nodeB, "x4-2"), 2),
	}
	res := commit(t, s, batch...)
	for i, wantOK := range []bool{true, true, true, true, false, false, false} {
		if wantOK && res[i] != nil {
			t.Errorf("transition %d: %v", i, res[i])
		}
		if !wantOK {
			wantErr(t, fmt.Sprint("transition ", i), res[i], store.ErrConflict)
		}
	}
	for i, want := range []struct {
		version int64
		state   string
		history []int64
	}{
		{2, "x0-2", []int64{1, 2}},
		{3, "x1-3", []int64{1, 2, 3}},
		{2, "x2-2", []int64{1, 2}},
		{1, "state-1", []int64{1}},
		{1, "state-1", []int64{1}},
	} {
		got := mustGet(t, s, xs[i].Arn)
		if got.Version != want.version || string(got.State) != want.state {
			t.Errorf("x%d: version %d state %q, want %d %q", i, got.Version, got.State, want.version, want.state)
		}
		if ids := historyIDs(t, s, xs[i].Arn); !slices.Equal(ids, want.history) {
			t.Errorf("x%d history %v, want %v", i, ids, want.history)
		}
	}
	if res := commit(t, s); len(res) != 0 {
		t.Fatalf("empty batch: %v", res)
	}
}

func testCommitTerminal(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, events: 1,
		timers: []*store.TimerInsert{{TimerID: "wait", Due: t0.Add(time.Minute)}},
		tokens: []*store.TaskTokenInsert{{Token: "tok", TaskID: "task"}}})
	if _, err := s.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: x.Arn, Payload: []byte("stop"), Now: t0}); err != nil {
		t.Fatalf("InboxAppend: %v", err)
	}
	if err := s.ActivityTaskEnqueue(ctx, &store.ActivityTaskEnqueueParams{Token: "tok", ActivityArn: "act",
		ExecutionArn: x.Arn, Input: "{}", Now: t0}); err != nil {
		t.Fatalf("ActivityTaskEnqueue: %v", err)
	}
	stop := t0.Add(time.Second)
	end := step(x, nodeA, "final")
	end.Status, end.Output, end.StopDate, end.ReleaseLease = store.StatusSucceeded, ptr(`{"ok":true}`), &stop, true
	end.Events = events(2, 2, t0)
	end.EffectsInsert = []*store.EffectInsert{{EffectID: "notify-parent", Kind: "child-finished", IdempotencyKey: "k"}}
	mustCommit(t, s, end)

	got := mustGet(t, s, x.Arn)
	if got.Status != store.StatusSucceeded || got.Output == nil || *got.Output != `{"ok":true}` ||
		got.StopDate == nil || !got.StopDate.Equal(stop) || got.LeaseOwner != "" || got.LeaseExpiresAt != nil || got.Version != 2 {
		t.Fatalf("ended execution: %+v", got)
	}
	far := t0.Add(24 * time.Hour)
	if ts := pendingTimers(t, s, timers); len(ts) != 0 {
		t.Fatalf("timers of an ended execution: %v", ts)
	}
	if ms, err := s.InboxClaim(ctx, &store.InboxClaimParams{Now: far, ClaimUntil: far.Add(time.Minute), Limit: 10}); err != nil || len(ms) != 0 {
		t.Fatalf("inbox of an ended execution: %v, %v", ms, err)
	}
	_, err := s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "tok"})
	wantErr(t, "token of an ended execution", err, store.ErrTaskTokenClosed)
	_, err = s.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: "act", WorkerName: "w", Now: far})
	wantErr(t, "activity task of an ended execution", err, store.ErrNotFound)
	// Effects survive the end: telling a parent execution is an effect of ending.
	if es, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: far, ClaimUntil: far.Add(time.Minute), Limit: 10}); err != nil ||
		len(es) != 1 || es[0].EffectID != "notify-parent" {
		t.Fatalf("effects of an ended execution: %v, %v", es, err)
	}
	_, err = s.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: x.Arn, Payload: []byte("late"), Now: far})
	wantErr(t, "message to an ended execution", err, store.ErrExecutionNotRunning)

	// An ended execution never changes again, even for a node that holds its lease and version.
	kept := step(x, nodeA, "after the end")
	kept.Version = 2
	if _, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Owner: nodeA, Now: far,
		ExpiresAt: far.Add(time.Minute), Arns: []string{x.Arn}}); err != nil {
		t.Fatalf("ExecutionLeaseAcquire: %v", err)
	}
	for _, status := range []store.ExecutionStatus{store.StatusRunning, store.StatusFailed} {
		kept.Status, kept.StopDate = status, &far
		wantErr(t, "commit to an ended execution", commit(t, s, kept)[0], store.ErrConflict)
	}
	if got := mustGet(t, s, x.Arn); got.Version != 2 || got.Status != store.StatusSucceeded {
		t.Fatalf("ended execution changed: %+v", got)
	}
}

func testHistoryPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", events: 25})
	even := mustStart(t, s, sm, startOpts{name: "even", events: 20})

	type page struct {
		ids  [2]int64 // first and last id
		next int64
	}
	tests := []struct {
		name    string
		arn     string
		limit   int
		reverse bool
		want    []page
	}{
		{"forward", x.Arn, 10, false, []page{{[2]int64{1, 10}, 10}, {[2]int64{11, 20}, 20}, {[2]int64{21, 25}, 0}}},
		{"reverse", x.Arn, 10, true, []page{{[2]int64{25, 16}, 16}, {[2]int64{15, 6}, 6}, {[2]int64{5, 1}, 0}}},
		{"forward, exact pages", even.Arn, 10, false, []page{{[2]int64{1, 10}, 10}, {[2]int64{11, 20}, 0}}},
		{"reverse, exact pages", even.Arn, 10, true, []page{{[2]int64{20, 11}, 11}, {[2]int64{10, 1}, 0}}},
		{"one page", x.Arn, 0, false, []page{{[2]int64{1, 25}, 0}}},
	}
	for _, tt := range tests {
		var after int64
		for i, want := range tt.want {
			res, err := s.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: tt.arn, After: after, Limit: tt.limit, Reverse: tt.reverse})
			if err != nil {
				t.Fatalf("%s: HistoryList: %v", tt.name, err)
			}
			n := len(res.Events)
			if n == 0 || res.Events[0].ID != want.ids[0] || res.Events[n-1].ID != want.ids[1] || res.NextAfter != want.next {
				t.Fatalf("%s page %d: %d events, next %d; want ids %v next %d", tt.name, i, n, res.NextAfter, want.ids, want.next)
			}
			for j := 1; j < n; j++ {
				if d := res.Events[j].ID - res.Events[j-1].ID; (d != 1 && !tt.reverse) || (d != -1 && tt.reverse) {
					t.Fatalf("%s page %d: ids not consecutive", tt.name, i)
				}
			}
			after = res.NextAfter
		}
	}
	res, err := s.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: x.Arn, After: 6, Limit: 1})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("HistoryList after 6: %v, %v", res, err)
	}
	e, want := res.Events[0], events(7, 7, t0)[0]
	if e.ID != 7 || e.Type != want.Type || !e.Timestamp.Equal(want.Timestamp) || string(e.Payload) != string(want.Payload) {
		t.Fatalf("event 7 = %+v, want %+v", e, want)
	}
	res, err = s.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: execArn("m", "nope")})
	if err != nil || len(res.Events) != 0 || res.NextAfter != 0 {
		t.Fatalf("history of unknown execution: %v, %v", res, err)
	}
}

// testCommitCancelled checks that a batch whose context is done writes nothing.
func testCommitCancelled(t *testing.T, s store.Store) {
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, events: 1})
	tr := step(x, nodeA, "never")
	tr.Events = events(2, 2, t0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.TransitionCommitBatch(ctx, &store.TransitionCommitBatchParams{Transitions: []*store.Transition{tr}})
	wantErr(t, "commit with a cancelled context", err, context.Canceled)
	if got := mustGet(t, s, x.Arn); got.Version != 1 || string(got.State) != "state-1" {
		t.Fatalf("after a cancelled commit: %+v", got)
	}
	if ids := historyIDs(t, s, x.Arn); !slices.Equal(ids, []int64{1}) {
		t.Fatalf("history after a cancelled commit = %v", ids)
	}
}

// testClosed checks that a closed store fails calls rather than hanging, and closes twice.
func testClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if _, err := s.ExecutionClaimDue(ctx, &store.ExecutionClaimDueParams{Owner: nodeA, Now: t0, ExpiresAt: t0.Add(time.Second), Limit: 1}); err == nil {
		t.Error("ExecutionClaimDue after Close succeeded")
	}
	if _, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: "a"}); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("ExecutionGet after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
