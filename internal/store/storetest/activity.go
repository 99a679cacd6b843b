package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func activityArn(name string) string {
	return "arn:aws:states:us-east-1:" + account + ":activity:" + name
}

func testActivities(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, err := s.ActivityCreate(ctx, &store.ActivityCreateParams{Arn: activityArn("w"), Name: "w", CreatedAt: t0, Tags: []byte(`[]`)})
	if err != nil || a.Arn != activityArn("w") || a.Name != "w" || !a.CreatedAt.Equal(t0) || string(a.Tags) != `[]` {
		t.Fatalf("ActivityCreate = %+v, %v", a, err)
	}
	again, err := s.ActivityCreate(ctx, &store.ActivityCreateParams{Arn: activityArn("w"), Name: "w", CreatedAt: t0.Add(time.Hour)})
	if err != nil || !sameActivity(again, a) {
		t.Fatalf("second ActivityCreate = %+v, %v; want the first", again, err)
	}
	for _, n := range []string{"c", "b", "a"} {
		if _, err := s.ActivityCreate(ctx, &store.ActivityCreateParams{Arn: activityArn(n), Name: n, CreatedAt: t0}); err != nil {
			t.Fatalf("ActivityCreate: %v", err)
		}
	}
	var names []string
	cursor := ""
	for {
		res, err := s.ActivityList(ctx, &store.ActivityListParams{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("ActivityList: %v", err)
		}
		for _, a := range res.Activities {
			names = append(names, a.Name)
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(names) != "[a b c w]" {
		t.Fatalf("listed %v", names)
	}
	if err := s.ActivityDelete(ctx, &store.ActivityDeleteParams{Arn: activityArn("b")}); err != nil {
		t.Fatalf("ActivityDelete: %v", err)
	}
	_, err = s.ActivityGet(ctx, &store.ActivityGetParams{Arn: activityArn("b")})
	wantErr(t, "deleted activity", err, store.ErrNotFound)
	wantErr(t, "delete twice", s.ActivityDelete(ctx, &store.ActivityDeleteParams{Arn: activityArn("b")}), store.ErrNotFound)
	if got, err := s.ActivityGet(ctx, &store.ActivityGetParams{Arn: a.Arn}); err != nil || !sameActivity(got, a) {
		t.Fatalf("ActivityGet = %+v, %v", got, err)
	}

	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA})
	enqueue := func(token string) error {
		return s.ActivityTaskEnqueue(ctx, &store.ActivityTaskEnqueueParams{Token: token, ActivityArn: a.Arn,
			ExecutionArn: x.Arn, Input: `{"in":"` + token + `"}`, Now: t0})
	}
	for _, tok := range []string{"tok-1", "tok-1", "tok-2"} { // a dispatcher re-running enqueues twice
		if err := enqueue(tok); err != nil {
			t.Fatalf("ActivityTaskEnqueue(%s): %v", tok, err)
		}
	}
	wantErr(t, "task of unknown execution", s.ActivityTaskEnqueue(ctx, &store.ActivityTaskEnqueueParams{
		Token: "tok-3", ActivityArn: a.Arn, ExecutionArn: execArn("m", "nope"), Now: t0}), store.ErrNotFound)

	claimedAt := t0.Add(time.Second)
	task, err := s.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: a.Arn, WorkerName: "worker-1", Now: claimedAt})
	if err != nil || task.Token != "tok-1" || task.ActivityArn != a.Arn || task.ExecutionArn != x.Arn ||
		task.Input != `{"in":"tok-1"}` || !task.EnqueuedAt.Equal(t0) || task.WorkerName != "worker-1" ||
		task.ClaimedAt == nil || !task.ClaimedAt.Equal(claimedAt) {
		t.Fatalf("ActivityTaskClaim = %+v, %v", task, err)
	}
	// tok-2 is withdrawn (its state was aborted) before any worker asks.
	tr := step(x, nodeA, "aborted")
	tr.TaskTokensDelete = []string{"tok-2"}
	mustCommit(t, s, tr)
	_, err = s.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: a.Arn, WorkerName: "worker-2", Now: claimedAt})
	wantErr(t, "claim from an empty queue", err, store.ErrNotFound)
}

func testActivityTaskClaimConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x"})
	want := map[string]bool{}
	for i := range 40 {
		tok := fmt.Sprint("tok-", i)
		want[tok] = true
		if err := s.ActivityTaskEnqueue(ctx, &store.ActivityTaskEnqueueParams{Token: tok, ActivityArn: activityArn("w"),
			ExecutionArn: x.Arn, Input: "{}", Now: t0}); err != nil {
			t.Fatalf("ActivityTaskEnqueue: %v", err)
		}
	}
	got := claimAllConcurrently(t, 8, func() ([]string, error) {
		task, err := s.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: activityArn("w"), WorkerName: "w", Now: t0})
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{task.Token}, nil
	})
	checkExactlyOnce(t, got, want)
}

func sameActivity(a, b *store.Activity) bool {
	return a.Arn == b.Arn && a.Name == b.Name && a.CreatedAt.Equal(b.CreatedAt) && bytes.Equal(a.Tags, b.Tags)
}
