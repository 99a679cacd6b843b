package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// childArn is the ARN of a Map Run child execution of a machine's Map Run.
func childArn(machine, run, name string) string {
	return "arn:aws:states:us-east-1:" + account + ":execution:" + machine + "/" + run + ":" + name
}

// childHistoryIDs returns the ids of a Map Run child execution's events.
func childHistoryIDs(t *testing.T, s store.Store, arn string) []int64 {
	t.Helper()
	res, err := s.HistoryList(t.Context(), &store.HistoryListParams{ExecutionArn: arn, Child: true, Limit: store.MaxPageSize})
	if err != nil {
		t.Fatalf("HistoryList(child %s): %v", arn, err)
	}
	var ids []int64
	for _, e := range res.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

func wantChild(t *testing.T, s store.Store, child, parent string, key int64) {
	t.Helper()
	got, err := s.ChildExecutionGet(t.Context(), &store.ChildExecutionGetParams{ExecutionArn: child})
	if err != nil || got.ParentArn != parent || got.Key != key {
		t.Fatalf("ChildExecutionGet(%s) = %+v, %v; want parent %q, key %d", child, got, err, parent, key)
	}
}

// testChildHistory writes the history of Map Run child executions with their parent's
// creation and commits, pages through it apart from the parent's, appends to a child in a
// later commit, refuses as a whole a commit repeating a child's event id or recording a
// child's ARN again, and deletes it with the parent.
func testChildHistory(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	c1, c2, c3 := childArn("m", "run", "c1"), childArn("m", "run", "c2"), childArn("m", "run-y", "c3")
	c4, c5 := childArn("m", "run", "c4"), childArn("m", "run", "c5")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, events: 2,
		children: []*store.ChildHistory{{ExecutionArn: c1, Key: 1, Events: events(1, 3, t0)}}})
	y := mustStart(t, s, sm, startOpts{name: "y", owner: nodeA, events: 1})

	tr := step(x, nodeA, "x-2")
	tr.Events = events(3, 3, t0)
	tr.Children = []*store.ChildHistory{
		{ExecutionArn: c1, Key: 1, Events: events(4, 12, t0)}, // more than one INSERT's worth of rows
		{ExecutionArn: c2, Key: 2, Events: events(1, 2, t0)},
		{ExecutionArn: c4, Key: 4, Events: events(1, 4, t0)},
	}
	mustCommit(t, s, tr)

	// Children of one parent under different keys keep separate histories.
	for _, h := range []struct {
		arn  string
		want []int64
	}{
		{c1, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{c2, []int64{1, 2}},
		{c4, []int64{1, 2, 3, 4}},
	} {
		if ids := childHistoryIDs(t, s, h.arn); !slices.Equal(ids, h.want) {
			t.Fatalf("history of %s = %v; want %v", h.arn, ids, h.want)
		}
	}

	// Every field of an event comes back as written.
	res, err := s.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: c1, Child: true, After: 4, Limit: 1})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("HistoryList(child, after 4) = %+v, %v", res, err)
	}
	want := events(5, 5, t0)[0]
	if got := res.Events[0]; got.ID != want.ID || got.Type != want.Type || !got.Timestamp.Equal(want.Timestamp) ||
		got.Timestamp.Location() != time.UTC || !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("child event = %+v; want %+v", got, want)
	}

	type page struct {
		ids  []int64
		next int64
	}
	tests := []struct {
		name    string
		arn     string
		child   bool
		limit   int
		reverse bool
		want    []page
	}{
		{"child, forward", c1, true, 5, false, []page{{[]int64{1, 2, 3, 4, 5}, 5}, {[]int64{6, 7, 8, 9, 10}, 10}, {[]int64{11, 12}, 0}}},
		{"child, reverse", c1, true, 5, true, []page{{[]int64{12, 11, 10, 9, 8}, 8}, {[]int64{7, 6, 5, 4, 3}, 3}, {[]int64{2, 1}, 0}}},
		{"child, exact pages", c2, true, 1, false, []page{{[]int64{1}, 1}, {[]int64{2}, 0}}},
		{"child, one page", c2, true, 0, true, []page{{[]int64{2, 1}, 0}}},
		{"parent, not its children's", x.Arn, false, 0, false, []page{{[]int64{1, 2, 3}, 0}}},
		{"child ARN as an execution", c1, false, 0, false, []page{{nil, 0}}},
		{"parent ARN as a child", x.Arn, true, 0, false, []page{{nil, 0}}},
		{"child never recorded", childArn("m", "run", "nobody"), true, 0, false, []page{{nil, 0}}},
	}
	for _, tt := range tests {
		var after int64
		for i, want := range tt.want {
			res, err := s.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: tt.arn, Child: tt.child, After: after,
				Limit: tt.limit, Reverse: tt.reverse})
			if err != nil {
				t.Fatalf("%s: HistoryList: %v", tt.name, err)
			}
			var ids []int64
			for _, e := range res.Events {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, want.ids) || res.NextAfter != want.next {
				t.Fatalf("%s page %d: ids %v, next %d; want %v, next %d", tt.name, i, ids, res.NextAfter, want.ids, want.next)
			}
			after = res.NextAfter
		}
	}

	wantChild(t, s, c1, x.Arn, 1)
	wantChild(t, s, c2, x.Arn, 2)
	for _, arn := range []string{childArn("m", "run", "nobody"), x.Arn} {
		_, err := s.ChildExecutionGet(ctx, &store.ChildExecutionGetParams{ExecutionArn: arn})
		wantErr(t, "ChildExecutionGet("+arn+")", err, store.ErrNotFound)
	}

	// A child event id recorded already refuses the whole transition, and only it.
	x = mustGet(t, s, x.Arn)
	bad := step(x, nodeA, "never")
	bad.Events = events(4, 4, t0)
	bad.TimersInsert = []*store.TimerInsert{{TimerID: "never", Due: t0}}
	bad.Children = []*store.ChildHistory{
		{ExecutionArn: c2, Key: 2, Events: events(3, 3, t0)},
		{ExecutionArn: c1, Key: 1, Events: events(12, 13, t0)}, // 12 is recorded
	}
	good := step(y, nodeA, "y-2")
	good.Events = events(2, 2, t0)
	// Keys number children within their parent: c1's key under another parent is free.
	good.Children = []*store.ChildHistory{{ExecutionArn: c3, Key: 1, Events: events(1, 1, t0)}}
	res2 := commit(t, s, bad, good)
	wantErr(t, "transition repeating a child's event id", res2[0], store.ErrConflict)
	if res2[1] != nil {
		t.Fatalf("the other transition of the batch: %v", res2[1])
	}
	if got := mustGet(t, s, x.Arn); got.Version != 2 || string(got.State) != "x-2" {
		t.Fatalf("execution after the refused transition: %+v", got)
	}
	for _, h := range []struct {
		what string
		ids  []int64
		want []int64
	}{
		{"parent's history", historyIDs(t, s, x.Arn), []int64{1, 2, 3}},
		{"c1's history", childHistoryIDs(t, s, c1), []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"c2's history", childHistoryIDs(t, s, c2), []int64{1, 2}},
		{"c3's history", childHistoryIDs(t, s, c3), []int64{1}},
		{"other execution's history", historyIDs(t, s, y.Arn), []int64{1, 2}},
	} {
		if !slices.Equal(h.ids, h.want) {
			t.Fatalf("%s = %v; want %v", h.what, h.ids, h.want)
		}
	}
	if ts := pendingTimers(t, s, timers); len(ts) != 0 {
		t.Fatalf("timers = %v; want none", ts)
	}
	wantChild(t, s, c3, y.Arn, 1)

	// A later transition, as a redrive's, appends to a child recorded before: events without
	// ID 1 do not record the child again (which would conflict), and it keeps its parent.
	x = mustGet(t, s, x.Arn)
	later := step(x, nodeA, "x-3")
	later.Events = events(4, 4, t0)
	later.Children = []*store.ChildHistory{{ExecutionArn: c4, Key: 4, Events: events(5, 6, t0)}}
	mustCommit(t, s, later)
	if ids := childHistoryIDs(t, s, c4); !slices.Equal(ids, []int64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("history of a child appended to = %v", ids)
	}
	wantChild(t, s, c4, x.Arn, 4)

	// Recording a child's ARN again, under another key, refuses the transition: nothing of it
	// is written, not even the children it records before the culprit.
	x = mustGet(t, s, x.Arn)
	dup := step(x, nodeA, "never")
	dup.Events = events(5, 5, t0)
	dup.Children = []*store.ChildHistory{
		{ExecutionArn: c5, Key: 5, Events: events(1, 2, t0)},
		{ExecutionArn: c1, Key: 9, Events: events(1, 1, t0)},
	}
	wantErr(t, "transition recording a child's ARN again", commit(t, s, dup)[0], store.ErrConflict)
	if got := mustGet(t, s, x.Arn); got.Version != 3 || string(got.State) != "x-3" {
		t.Fatalf("execution after the refused transition: %+v", got)
	}
	if ids := historyIDs(t, s, x.Arn); !slices.Equal(ids, []int64{1, 2, 3, 4}) {
		t.Fatalf("parent's history after the refused transition: %v", ids)
	}
	if ids := childHistoryIDs(t, s, c1); !slices.Equal(ids, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
		t.Fatalf("history of the child recorded again: %v", ids)
	}
	wantChild(t, s, c1, x.Arn, 1)
	if ids := childHistoryIDs(t, s, c5); len(ids) != 0 {
		t.Fatalf("history of a child of the refused transition: %v", ids)
	}
	_, err = s.ChildExecutionGet(ctx, &store.ChildExecutionGetParams{ExecutionArn: c5})
	wantErr(t, "parent of a child of the refused transition", err, store.ErrNotFound)

	// Deleting the parent deletes its children's history, and no other's.
	x = mustGet(t, s, x.Arn)
	end := step(x, nodeA, "ended")
	end.Status, end.Output, end.StopDate, end.ReleaseLease = store.StatusSucceeded, ptr(`{}`), ptr(t0.Add(time.Minute)), true
	end.Events = events(5, 5, t0)
	mustCommit(t, s, end)
	n, err := s.ExecutionDeleteClosed(ctx, &store.ExecutionDeleteClosedParams{Before: t0.Add(time.Hour), Limit: 10})
	if err != nil || n != 1 {
		t.Fatalf("ExecutionDeleteClosed = %d, %v; want 1", n, err)
	}
	for _, c := range []string{c1, c2, c4} {
		_, err := s.ChildExecutionGet(ctx, &store.ChildExecutionGetParams{ExecutionArn: c})
		wantErr(t, "parent of a deleted execution's child", err, store.ErrNotFound)
		if ids := childHistoryIDs(t, s, c); len(ids) != 0 {
			t.Fatalf("history of a deleted execution's child: %v", ids)
		}
	}
	wantChild(t, s, c3, y.Arn, 1)
	if ids := childHistoryIDs(t, s, c3); !slices.Equal(ids, []int64{1}) {
		t.Fatalf("history of the other execution's child: %v", ids)
	}

	// Nothing is left of a deleted execution's child: its ARN can be recorded anew.
	y = mustGet(t, s, y.Arn)
	again := step(y, nodeA, "y-3")
	again.Events = events(3, 3, t0)
	again.Children = []*store.ChildHistory{{ExecutionArn: c1, Key: 2, Events: events(1, 1, t0)}}
	mustCommit(t, s, again)
	wantChild(t, s, c1, y.Arn, 2)
	if ids := childHistoryIDs(t, s, c1); !slices.Equal(ids, []int64{1}) {
		t.Fatalf("history of a child recorded anew: %v", ids)
	}
}
