package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func testExecutionCreate(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "first", owner: nodeA, events: 2,
		timers: []*store.TimerInsert{{TimerID: "timeout", Due: t0.Add(time.Hour)}}})
	if x.Status != store.StatusRunning || x.Version != 1 || string(x.State) != "state-1" || x.Input != `{"n":1}` ||
		x.LeaseOwner != nodeA || x.LeaseExpiresAt == nil || !x.LeaseExpiresAt.Equal(t0.Add(time.Minute)) ||
		!x.StartDate.Equal(t0) || x.StopDate != nil || x.Output != nil || x.RevisionID != sm.RevisionID ||
		x.Type != store.StateMachineStandard {
		t.Fatalf("created execution = %+v", x)
	}
	if ids := historyIDs(t, s, x.Arn); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("history ids = %v", ids)
	}

	tests := []struct {
		name    string
		arn     string
		exName  string
		rev     string
		wantErr error
	}{
		{"same name", execArn("m", "first"), "first", sm.RevisionID, store.ErrExecutionAlreadyExists},
		{"same name other arn", execArn("m", "other"), "first", sm.RevisionID, store.ErrExecutionAlreadyExists},
		{"same arn other name", x.Arn, "second", sm.RevisionID, store.ErrExecutionAlreadyExists},
		{"unknown revision", execArn("m", "third"), "third", "no-such-revision", store.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := s.ExecutionCreate(ctx, &store.ExecutionCreateParams{
			Arn: tt.arn, StateMachineArn: sm.Arn, RevisionID: tt.rev, Name: tt.exName,
			Type: store.StateMachineStandard, Input: `{"n":2}`, StartDate: t0,
			Mutations: store.Mutations{Events: events(1, 1, t0)},
		})
		wantErr(t, tt.name, err, tt.wantErr)
	}
	// The failed creates wrote nothing.
	if ids := historyIDs(t, s, x.Arn); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("history ids after failed creates = %v", ids)
	}
	_, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: execArn("m", "third")})
	wantErr(t, "get never created", err, store.ErrNotFound)

	// StartExecution's idempotency rule compares against the existing execution.
	byName, err := s.ExecutionGetByName(ctx, &store.ExecutionGetByNameParams{StateMachineArn: sm.Arn, Name: "first"})
	if err != nil || byName.Arn != x.Arn || byName.Input != x.Input || byName.State != nil {
		t.Fatalf("ExecutionGetByName = %+v, %v", byName, err)
	}
	_, err = s.ExecutionGetByName(ctx, &store.ExecutionGetByNameParams{StateMachineArn: sm.Arn, Name: "nope"})
	wantErr(t, "get by unknown name", err, store.ErrNotFound)

	noState, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: x.Arn})
	if err != nil || noState.State != nil || noState.Input != x.Input {
		t.Fatalf("ExecutionGet without state = %+v, %v", noState, err)
	}

	// The first timer is there to fire; the failed creates started none.
	if ts := pendingTimers(t, s, timers); !slices.Equal(ts, []string{"first/timeout@1h0m0s"}) {
		t.Fatalf("timers of new execution = %v", ts)
	}
}

// testExecutionCreateBatch creates executions together: one that ended in its first burst, one
// running, one whose name is taken and one with invalid params. Only the last two fail, and
// they write nothing.
func testExecutionCreateBatch(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	mustStart(t, s, sm, startOpts{name: "taken", events: 1})
	output, stop := `{"ok":true}`, t0.Add(time.Second)
	create := func(name string) *store.ExecutionCreateParams {
		return &store.ExecutionCreateParams{
			Arn: execArn("m", name), StateMachineArn: sm.Arn, RevisionID: sm.RevisionID, Name: name,
			Type: store.StateMachineStandard, Input: `{}`, StartDate: t0, State: []byte("s"),
			Mutations: store.Mutations{Events: events(1, 3, t0)},
		}
	}
	ended := create("ended")
	ended.Status, ended.Output, ended.StopDate = store.StatusSucceeded, &output, &stop
	running := create("running")
	running.TimersInsert = []*store.TimerInsert{{TimerID: "w", Due: t0.Add(time.Minute)}}
	invalid := create("invalid")
	invalid.StartDate = time.Time{}
	errs, err := s.ExecutionCreateBatch(ctx, &store.ExecutionCreateBatchParams{
		Executions: []*store.ExecutionCreateParams{ended, create("taken"), running, invalid},
	})
	if err != nil || len(errs) != 4 {
		t.Fatalf("ExecutionCreateBatch = %v, %v", errs, err)
	}
	wantErr(t, "ended", errs[0], nil)
	wantErr(t, "taken", errs[1], store.ErrExecutionAlreadyExists)
	wantErr(t, "running", errs[2], nil)
	wantErr(t, "invalid", errs[3], store.ErrInvalidParams)

	x, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: ended.Arn})
	if err != nil || x.Status != store.StatusSucceeded || x.Output == nil || *x.Output != output ||
		x.StopDate == nil || !x.StopDate.Equal(stop) || x.LeaseOwner != "" {
		t.Fatalf("ended execution = %+v, %v", x, err)
	}
	if ids := historyIDs(t, s, ended.Arn); !slices.Equal(ids, []int64{1, 2, 3}) {
		t.Fatalf("history of the ended execution = %v", ids)
	}
	if ids := historyIDs(t, s, execArn("m", "taken")); !slices.Equal(ids, []int64{1}) {
		t.Fatalf("history of the taken name = %v", ids)
	}
	x, err = s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: running.Arn})
	if err != nil || x.Status != store.StatusRunning || x.Version != 1 {
		t.Fatalf("running execution = %+v, %v", x, err)
	}
	_, err = s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: invalid.Arn})
	wantErr(t, "invalid never created", err, store.ErrNotFound)
	if ts := pendingTimers(t, s, timers); !slices.Equal(ts, []string{"running/w@1m0s"}) {
		t.Fatalf("timers = %v", ts)
	}
}

func testExecutionList(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	other := mustCreateMachine(t, s, "other")
	mustStart(t, s, other, startOpts{name: "elsewhere"})
	// Seven executions; x3 and x4 start at the same instant, so the ARN must break the tie.
	starts := []time.Duration{0, 1, 2, 3, 3, 5, 6}
	var all []*store.Execution
	for i, d := range starts {
		all = append(all, mustStart(t, s, sm, startOpts{name: "x" + string(rune('0'+i)), owner: nodeA,
			start: t0.Add(d * time.Second)}))
	}
	// x1 and x5 fail.
	for _, i := range []int{1, 5} {
		tr := step(all[i], nodeA, "done")
		tr.Status, tr.Error, tr.StopDate = store.StatusFailed, ptr("States.TaskFailed"), ptr(t0.Add(time.Hour))
		mustCommit(t, s, tr)
	}
	tests := []struct {
		status store.ExecutionStatus
		limit  int
		want   []string // newest first
	}{
		{"", 3, []string{"x6", "x5", "x4", "x3", "x2", "x1", "x0"}},
		{"", 0, []string{"x6", "x5", "x4", "x3", "x2", "x1", "x0"}},
		{"", 1, []string{"x6", "x5", "x4", "x3", "x2", "x1", "x0"}},
		{store.StatusRunning, 2, []string{"x6", "x4", "x3", "x2", "x0"}},
		{store.StatusFailed, 1, []string{"x5", "x1"}},
		{store.StatusSucceeded, 2, nil},
	}
	for _, tt := range tests {
		var got []string
		cursor := ""
		for {
			res, err := s.ExecutionList(ctx, &store.ExecutionListParams{StateMachineArn: sm.Arn, Status: tt.status,
				Limit: tt.limit, Cursor: cursor})
			if err != nil {
				t.Fatalf("ExecutionList(%q, %d): %v", tt.status, tt.limit, err)
			}
			if tt.limit > 0 && len(res.Executions) > tt.limit {
				t.Fatalf("page of %d executions, limit %d", len(res.Executions), tt.limit)
			}
			for _, x := range res.Executions {
				got = append(got, x.Name)
				if x.State != nil || x.Input != "" {
					t.Errorf("listed execution carries state or input: %+v", x)
				}
			}
			if cursor = res.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ExecutionList(%q, %d) = %v, want %v", tt.status, tt.limit, got, tt.want)
		}
	}
	_, err := s.ExecutionList(ctx, &store.ExecutionListParams{StateMachineArn: sm.Arn, Cursor: "%%%"})
	wantErr(t, "bad cursor", err, store.ErrInvalidCursor)
}

func ptr[T any](v T) *T { return &v }

// testExecutionListOrigin lists the executions started through a version or an alias, and
// reports each execution's origin and redrives.
func testExecutionListOrigin(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	v1, v2 := sm.Arn+":1", sm.Arn+":2"
	prod := sm.Arn + ":prod"
	mustStart(t, s, sm, startOpts{name: "plain", start: t0})
	mustStart(t, s, sm, startOpts{name: "v1", start: t0.Add(time.Second), version: v1})
	mustStart(t, s, sm, startOpts{name: "prod-v1", start: t0.Add(2 * time.Second), version: v1, alias: prod})
	mustStart(t, s, sm, startOpts{name: "prod-v2", start: t0.Add(3 * time.Second), version: v2, alias: prod})
	list := func(p store.ExecutionListParams) []*store.Execution {
		t.Helper()
		p.StateMachineArn = sm.Arn
		res, err := s.ExecutionList(ctx, &p)
		if err != nil {
			t.Fatalf("ExecutionList(%+v): %v", p, err)
		}
		return res.Executions
	}
	names := func(xs []*store.Execution) string {
		var out []string
		for _, x := range xs {
			out = append(out, x.Name)
		}
		return fmt.Sprint(out)
	}
	for _, tt := range []struct {
		p    store.ExecutionListParams
		want string
	}{
		{store.ExecutionListParams{}, "[prod-v2 prod-v1 v1 plain]"},
		{store.ExecutionListParams{VersionArn: v1}, "[prod-v1 v1]"},
		{store.ExecutionListParams{VersionArn: v2}, "[prod-v2]"},
		{store.ExecutionListParams{AliasArn: prod}, "[prod-v2 prod-v1]"},
		{store.ExecutionListParams{AliasArn: sm.Arn + ":other"}, "[]"},
		{store.ExecutionListParams{VersionArn: v1, Limit: 1}, "[prod-v1]"},
	} {
		if got := names(list(tt.p)); got != tt.want {
			t.Fatalf("ExecutionList(%+v) = %s, want %s", tt.p, got, tt.want)
		}
	}
	res, err := s.ExecutionList(ctx, &store.ExecutionListParams{StateMachineArn: sm.Arn, VersionArn: v1, Limit: 1})
	if err != nil || res.NextCursor == "" {
		t.Fatalf("first page by version: %+v, %v", res, err)
	}
	res, err = s.ExecutionList(ctx, &store.ExecutionListParams{StateMachineArn: sm.Arn, VersionArn: v1, Cursor: res.NextCursor})
	if err != nil || names(res.Executions) != "[v1]" || res.NextCursor != "" {
		t.Fatalf("second page by version: %+v, %v", res, err)
	}
	for _, x := range list(store.ExecutionListParams{}) {
		want := map[string][2]string{"plain": {}, "v1": {v1, ""}, "prod-v1": {v1, prod}, "prod-v2": {v2, prod}}[x.Name]
		if x.VersionArn != want[0] || x.AliasArn != want[1] || x.Redrives != nil {
			t.Fatalf("listed %s: version %q, alias %q, redrives %+v; want %q, %q, none", x.Name, x.VersionArn, x.AliasArn, x.Redrives, want[0], want[1])
		}
	}

	// A redriven execution is listed with its redrives.
	x := mustStart(t, s, sm, startOpts{name: "redriven", start: t0.Add(4 * time.Second), owner: nodeA, events: 1})
	stop := t0.Add(5 * time.Second)
	tr := step(x, nodeA, "failed")
	tr.Status, tr.StopDate, tr.ReleaseLease, tr.Events = store.StatusFailed, &stop, true, events(2, 2, t0)
	mustCommit(t, s, tr)
	failed := mustGet(t, s, x.Arn)
	at := t0.Add(time.Hour)
	if err := s.ExecutionRedrive(ctx, &store.ExecutionRedriveParams{ExecutionArn: x.Arn, Version: failed.Version,
		State: []byte("s"), Status: store.StatusRunning, Mutations: store.Mutations{Now: at, Events: events(3, 3, at)}}); err != nil {
		t.Fatalf("ExecutionRedrive: %v", err)
	}
	got := list(store.ExecutionListParams{Limit: 1})
	if len(got) != 1 || got[0].Name != "redriven" || got[0].Redrives == nil || got[0].Redrives.Count != 1 || !got[0].Redrives.Date.Equal(at) {
		t.Fatalf("listed redriven execution: %+v", got)
	}
}
