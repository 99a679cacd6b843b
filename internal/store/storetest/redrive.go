package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func testExecutionRedrive(t *testing.T, s store.Store, timers Timers) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	end := func(x *store.Execution, status store.ExecutionStatus) *store.Execution {
		stop := t0.Add(time.Second)
		tr := step(x, nodeA, "failed-state")
		tr.Status, tr.Error, tr.StopDate, tr.ReleaseLease = status, ptr("Boom"), &stop, true
		tr.Events = events(2, 2, t0)
		mustCommit(t, s, tr)
		return mustGet(t, s, x.Arn)
	}
	failed := end(mustStart(t, s, sm, startOpts{name: "failed", owner: nodeA, events: 1}), store.StatusFailed)
	redrive := func(x *store.Execution) *store.ExecutionRedriveParams {
		return &store.ExecutionRedriveParams{ExecutionArn: x.Arn, Version: x.Version, State: []byte("redriven"),
			Status: store.StatusRunning, Mutations: store.Mutations{Now: t0.Add(time.Hour), Events: events(3, 4, t0.Add(time.Hour)),
				TimersInsert: []*store.TimerInsert{{TimerID: "retry", Due: t0.Add(2 * time.Hour)}}}}
	}
	if err := s.ExecutionRedrive(ctx, redrive(failed)); err != nil {
		t.Fatalf("ExecutionRedrive: %v", err)
	}
	got := mustGet(t, s, failed.Arn)
	if got.Status != store.StatusRunning || got.Error != nil || got.StopDate != nil || string(got.State) != "redriven" ||
		got.Version != failed.Version+1 || got.LeaseOwner != "" {
		t.Fatalf("redriven execution: %+v", got)
	}
	if r, err := s.ExecutionRedriveGet(ctx, &store.ExecutionRedriveGetParams{Arn: failed.Arn}); err != nil ||
		r.Count != 1 || !r.Date.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ExecutionRedriveGet = %+v, %v", r, err)
	}
	if ids := historyIDs(t, s, failed.Arn); fmt.Sprint(ids) != "[1 2 3 4]" {
		t.Fatalf("history after redrive: %v", ids)
	}
	if ts := pendingTimers(t, s, timers); !slices.Equal(ts, []string{"failed/retry@2h0m0s"}) {
		t.Fatalf("timers of the redriven execution: %v", ts)
	}
	wantErr(t, "redriving a running execution", s.ExecutionRedrive(ctx, redrive(got)), store.ErrConflict)
	wantErr(t, "redriving at a stale version", s.ExecutionRedrive(ctx, redrive(failed)), store.ErrConflict)

	// A redrive whose first burst ends the execution again stores the new outcome.
	aborted := end(mustStart(t, s, sm, startOpts{name: "aborted", owner: nodeA, events: 1}), store.StatusAborted)
	again := redrive(aborted)
	stop := t0.Add(time.Hour)
	again.Status, again.Output, again.StopDate, again.TimersInsert = store.StatusSucceeded, ptr(`"ok"`), &stop, nil
	if err := s.ExecutionRedrive(ctx, again); err != nil {
		t.Fatalf("ExecutionRedrive that succeeds: %v", err)
	}
	_, err := s.ExecutionRedriveGet(ctx, &store.ExecutionRedriveGetParams{Arn: aborted.Arn})
	if err != nil {
		t.Fatalf("ExecutionRedriveGet: %v", err)
	}
	if got := mustGet(t, s, aborted.Arn); got.Status != store.StatusSucceeded || got.Output == nil || *got.Output != `"ok"` ||
		got.Error != nil || got.StopDate == nil || !got.StopDate.Equal(stop) {
		t.Fatalf("execution redriven to success: %+v", got)
	}
	wantErr(t, "redriving a succeeded execution", s.ExecutionRedrive(ctx, redrive(mustGet(t, s, aborted.Arn))), store.ErrConflict)

	// A redrive that records an event id already recorded writes nothing.
	timedOut := end(mustStart(t, s, sm, startOpts{name: "timedout", owner: nodeA, events: 1}), store.StatusTimedOut)
	dup := redrive(timedOut)
	dup.Events = events(2, 3, t0)
	wantErr(t, "redrive repeating an event id", s.ExecutionRedrive(ctx, dup), store.ErrConflict)
	if got := mustGet(t, s, timedOut.Arn); got.Status != store.StatusTimedOut || got.Version != timedOut.Version {
		t.Fatalf("execution after a refused redrive: %+v", got)
	}
	_, err = s.ExecutionRedriveGet(ctx, &store.ExecutionRedriveGetParams{Arn: timedOut.Arn})
	wantErr(t, "redrives of an execution never redriven", err, store.ErrNotFound)
	for _, tt := range []struct {
		redriven bool
		want     string
	}{{true, "[aborted failed]"}, {false, "[timedout]"}} {
		res, err := s.ExecutionList(ctx, &store.ExecutionListParams{StateMachineArn: sm.Arn, Redriven: &tt.redriven})
		if err != nil {
			t.Fatalf("ExecutionList: %v", err)
		}
		var names []string
		for _, x := range res.Executions {
			names = append(names, x.Name)
		}
		slices.Sort(names)
		if fmt.Sprint(names) != tt.want {
			t.Fatalf("executions redriven=%v: %v, want %s", tt.redriven, names, tt.want)
		}
	}
	wantErr(t, "redrive without a time", s.ExecutionRedrive(ctx, &store.ExecutionRedriveParams{ExecutionArn: timedOut.Arn,
		State: []byte("s"), Status: store.StatusRunning}), store.ErrInvalidParams)
}

// testExecutionRedriveTokens records redrives' client tokens: a token is found with its
// redrive's date, a token used again takes the new redrive's date, and only the last
// RedriveTokensKept tokens of an execution are kept.
func testExecutionRedriveTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", events: 1})
	other := mustStart(t, s, sm, startOpts{name: "other", events: 1})
	next := int64(2)
	fail := func() *store.Execution {
		cur := mustGet(t, s, x.Arn)
		if cur.Status != store.StatusRunning {
			return cur
		}
		if _, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Owner: nodeA, Now: t0,
			ExpiresAt: t0.Add(time.Minute), Arns: []string{x.Arn}}); err != nil {
			t.Fatalf("ExecutionLeaseAcquire: %v", err)
		}
		stop := t0
		tr := step(cur, nodeA, "failed")
		tr.Status, tr.StopDate, tr.ReleaseLease = store.StatusFailed, &stop, true
		tr.Events = events(int(next), int(next), t0)
		next++
		mustCommit(t, s, tr)
		return mustGet(t, s, x.Arn)
	}
	redrive := func(token string, at time.Time) error {
		cur := fail()
		err := s.ExecutionRedrive(ctx, &store.ExecutionRedriveParams{ExecutionArn: cur.Arn, Version: cur.Version,
			State: []byte("s"), Status: store.StatusRunning, ClientToken: token,
			Mutations: store.Mutations{Now: at, Events: events(int(next), int(next), at)}})
		if err == nil {
			next++
		}
		return err
	}
	tokenDate := func(arn, token string) (time.Time, error) {
		return s.ExecutionRedriveTokenGet(ctx, &store.ExecutionRedriveTokenGetParams{Arn: arn, ClientToken: token})
	}
	if err := redrive("tok-0", t0.Add(time.Minute)); err != nil {
		t.Fatalf("ExecutionRedrive with a token: %v", err)
	}
	if d, err := tokenDate(x.Arn, "tok-0"); err != nil || !d.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ExecutionRedriveTokenGet = %v, %v", d, err)
	}
	_, err := tokenDate(other.Arn, "tok-0")
	wantErr(t, "the token of another execution", err, store.ErrNotFound)
	if err := redrive("tok-0", t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("ExecutionRedrive with a token used before: %v", err)
	}
	if d, err := tokenDate(x.Arn, "tok-0"); err != nil || !d.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("a token used again: %v, %v; want the new redrive's date", d, err)
	}
	if err := redrive("", t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("ExecutionRedrive without a token: %v", err)
	}
	for i := 1; i <= store.RedriveTokensKept; i++ {
		if err := redrive(fmt.Sprint("tok-", i), t0.Add(time.Duration(3+i)*time.Minute)); err != nil {
			t.Fatalf("ExecutionRedrive %d: %v", i, err)
		}
	}
	_, err = tokenDate(x.Arn, "tok-0")
	wantErr(t, "a token beyond the last kept", err, store.ErrNotFound)
	if _, err := tokenDate(x.Arn, "tok-1"); err != nil {
		t.Fatalf("the oldest token kept: %v", err)
	}
}
