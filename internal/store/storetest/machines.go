package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func testStateMachineLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "orders")
	if sm.Arn != smArn("orders") || sm.Name != "orders" || sm.Type != store.StateMachineStandard ||
		!sm.CreatedAt.Equal(t0) || !sm.RevisionCreatedAt.Equal(t0) || sm.RevisionID != "orders-r1" ||
		sm.Deleted || string(sm.LoggingConfiguration) != `{"level":"OFF"}` || sm.TracingConfiguration != nil ||
		string(sm.Tags) != `[{"key":"team","value":"core"}]` {
		t.Fatalf("created machine = %+v", sm)
	}

	_, err := s.StateMachineCreate(ctx, &store.StateMachineCreateParams{
		Arn: sm.Arn, Name: sm.Name, Type: store.StateMachineExpress, CreatedAt: t0,
		Revision: store.Revision{RevisionID: "other", Definition: "{}"},
	})
	wantErr(t, "second create", err, store.ErrStateMachineAlreadyExists)

	t1 := t0.Add(time.Hour)
	up, err := s.StateMachineUpdate(ctx, &store.StateMachineUpdateParams{Arn: sm.Arn, Revision: store.Revision{
		RevisionID: "orders-r2", RevisionCreatedAt: t1, Definition: `{"v":2}`, RoleArn: sm.RoleArn,
		Description: "second", TracingConfiguration: []byte(`{"enabled":true}`),
	}})
	if err != nil {
		t.Fatalf("StateMachineUpdate: %v", err)
	}
	if up.RevisionID != "orders-r2" || up.Definition != `{"v":2}` || !up.RevisionCreatedAt.Equal(t1) ||
		!up.CreatedAt.Equal(t0) || up.Description != "second" {
		t.Fatalf("updated machine = %+v", up)
	}
	latest, err := s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: sm.Arn})
	if err != nil || latest.RevisionID != "orders-r2" {
		t.Fatalf("latest after update = %+v, %v", latest, err)
	}
	old, err := s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: sm.Arn, RevisionID: "orders-r1"})
	if err != nil || old.Definition != sm.Definition || old.Description != "" {
		t.Fatalf("first revision after update = %+v, %v", old, err)
	}

	// An execution pinned to the first revision outlives the machine.
	x := mustStart(t, s, sm, startOpts{name: "pinned", owner: nodeA})

	if err := s.StateMachineDelete(ctx, &store.StateMachineDeleteParams{Arn: sm.Arn}); err != nil {
		t.Fatalf("StateMachineDelete: %v", err)
	}
	_, err = s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: sm.Arn})
	wantErr(t, "get deleted", err, store.ErrNotFound)
	pinned, err := s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: x.StateMachineArn, RevisionID: x.RevisionID})
	if err != nil || !pinned.Deleted || pinned.Definition != sm.Definition || pinned.Type != store.StateMachineStandard {
		t.Fatalf("pinned revision of deleted machine = %+v, %v", pinned, err)
	}
	mustCommit(t, s, step(x, nodeA, "state-2"))

	wantErr(t, "delete twice", s.StateMachineDelete(ctx, &store.StateMachineDeleteParams{Arn: sm.Arn}), store.ErrNotFound)
	_, err = s.StateMachineUpdate(ctx, &store.StateMachineUpdateParams{Arn: sm.Arn, Revision: store.Revision{
		RevisionID: "orders-r3", RevisionCreatedAt: t1, Definition: "{}"}})
	wantErr(t, "update deleted", err, store.ErrNotFound)
	_, err = s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: sm.Arn, RevisionID: "nope"})
	wantErr(t, "get unknown revision", err, store.ErrNotFound)
}

func testStateMachineList(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	for _, n := range []string{"e", "a", "d", "c", "b"} {
		want = append(want, mustCreateMachine(t, s, n).Arn)
	}
	slices.Sort(want)
	var got []string
	cursor, pages := "", 0
	for {
		res, err := s.StateMachineList(ctx, &store.StateMachineListParams{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("StateMachineList: %v", err)
		}
		pages++
		for _, sm := range res.StateMachines {
			got = append(got, sm.Arn)
			if sm.RevisionID != sm.Name+"-r1" || !sm.CreatedAt.Equal(t0) {
				t.Errorf("listed %+v", sm)
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, want)
	}
	_, err := s.StateMachineList(ctx, &store.StateMachineListParams{Cursor: "not a cursor"})
	wantErr(t, "bad cursor", err, store.ErrInvalidCursor)
	_, err = s.StateMachineList(ctx, &store.StateMachineListParams{Limit: store.MaxPageSize + 1})
	wantErr(t, "page too big", err, store.ErrInvalidParams)
}
