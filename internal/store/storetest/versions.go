package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func updateMachine(t *testing.T, s store.Store, sm *store.StateMachine, rev string) {
	t.Helper()
	r := sm.Revision
	r.RevisionID, r.RevisionCreatedAt = rev, t0.Add(time.Minute)
	if _, err := s.StateMachineUpdate(t.Context(), &store.StateMachineUpdateParams{Arn: sm.Arn, Revision: r}); err != nil {
		t.Fatalf("StateMachineUpdate: %v", err)
	}
}

func testVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "v")
	publish := func(rev, desc string) (*store.VersionPublishResult, error) {
		return s.StateMachineVersionPublish(ctx, &store.VersionPublishParams{StateMachineArn: sm.Arn, RevisionID: rev,
			Description: desc, CreatedAt: t0})
	}
	v1, err := publish("v-r1", "first")
	if err != nil || v1.Existing || v1.Version.Version != 1 || v1.Version.RevisionID != "v-r1" ||
		v1.Version.Description != "first" || !v1.Version.CreatedAt.Equal(t0) {
		t.Fatalf("publish = %+v, %v", v1, err)
	}
	again, err := publish("v-r1", "")
	if err != nil || !again.Existing || *again.Version != *v1.Version {
		t.Fatalf("publishing a revision again = %+v, %v; want version 1", again, err)
	}
	updateMachine(t, s, sm, "v-r2")
	_, err = publish("v-r1", "")
	wantErr(t, "publishing a revision that is no longer the latest", err, store.ErrConflict)
	if v2, err := publish("v-r2", ""); err != nil || v2.Version.Version != 2 {
		t.Fatalf("publish = %+v, %v; want version 2", v2, err)
	}
	// Deleting the newest version does not free its number.
	if err := s.StateMachineVersionDelete(ctx, &store.VersionDeleteParams{StateMachineArn: sm.Arn, Version: 2}); err != nil {
		t.Fatalf("StateMachineVersionDelete: %v", err)
	}
	wantErr(t, "deleting twice", s.StateMachineVersionDelete(ctx, &store.VersionDeleteParams{StateMachineArn: sm.Arn, Version: 2}), store.ErrNotFound)
	_, err = s.StateMachineVersionGet(ctx, &store.VersionGetParams{StateMachineArn: sm.Arn, Version: 2})
	wantErr(t, "a deleted version", err, store.ErrNotFound)
	for i, rev := range []string{"v-r3", "v-r4"} {
		updateMachine(t, s, sm, rev)
		if v, err := publish(rev, ""); err != nil || v.Version.Version != int64(3+i) {
			t.Fatalf("publish %s = %+v, %v; want version %d", rev, v, err, 3+i)
		}
	}
	var got []int64
	cursor := ""
	for {
		page, err := s.StateMachineVersionList(ctx, &store.VersionListParams{StateMachineArn: sm.Arn, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("StateMachineVersionList: %v", err)
		}
		for _, v := range page.Versions {
			got = append(got, v.Version)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(got) != "[4 3 1]" {
		t.Fatalf("versions %v, want [4 3 1]", got)
	}
	if v, err := s.StateMachineVersionGet(ctx, &store.VersionGetParams{StateMachineArn: sm.Arn, Version: 3}); err != nil || v.RevisionID != "v-r3" {
		t.Fatalf("StateMachineVersionGet = %+v, %v", v, err)
	}
	_, err = s.StateMachineVersionPublish(ctx, &store.VersionPublishParams{StateMachineArn: smArn("missing"), RevisionID: "x", CreatedAt: t0})
	wantErr(t, "publishing an unknown machine", err, store.ErrNotFound)
	_, err = s.StateMachineVersionPublish(ctx, &store.VersionPublishParams{StateMachineArn: sm.Arn, CreatedAt: t0})
	wantErr(t, "publishing without a revision", err, store.ErrInvalidParams)
}

func testAliases(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "a")
	for _, rev := range []string{"a-r1", "a-r2"} {
		if rev != "a-r1" {
			updateMachine(t, s, sm, rev)
		}
		if _, err := s.StateMachineVersionPublish(ctx, &store.VersionPublishParams{StateMachineArn: sm.Arn, RevisionID: rev, CreatedAt: t0}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	arn := sm.Arn + ":prod"
	create := func(arn string, routes ...store.AliasRoute) (*store.Alias, error) {
		return s.StateMachineAliasCreate(ctx, &store.AliasCreateParams{Arn: arn, StateMachineArn: sm.Arn,
			Name: arn[len(sm.Arn)+1:], Description: "d", Routes: routes, CreatedAt: t0})
	}
	a, err := create(arn, store.AliasRoute{Version: 2, Weight: 90}, store.AliasRoute{Version: 1, Weight: 10})
	if err != nil || a.Arn != arn || a.StateMachineArn != sm.Arn || a.Name != "prod" || a.Description != "d" ||
		fmt.Sprint(a.Routes) != "[{1 10} {2 90}]" || !a.CreatedAt.Equal(t0) || !a.UpdatedAt.Equal(t0) {
		t.Fatalf("StateMachineAliasCreate = %+v, %v", a, err)
	}
	_, err = create(arn, store.AliasRoute{Version: 1, Weight: 100})
	wantErr(t, "creating twice", err, store.ErrAliasAlreadyExists)
	_, err = create(sm.Arn+":ghost", store.AliasRoute{Version: 7, Weight: 100})
	wantErr(t, "routing to an unknown version", err, store.ErrNotFound)
	if _, err := s.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: sm.Arn + ":ghost"}); err == nil {
		t.Fatal("a refused alias was stored")
	}
	_, err = create(sm.Arn+":dup", store.AliasRoute{Version: 1, Weight: 50}, store.AliasRoute{Version: 1, Weight: 50})
	wantErr(t, "routing a version twice", err, store.ErrInvalidParams)

	wantErr(t, "deleting a routed version", s.StateMachineVersionDelete(ctx, &store.VersionDeleteParams{StateMachineArn: sm.Arn, Version: 1}), store.ErrConflict)
	desc := "new"
	later := t0.Add(time.Hour)
	u, err := s.StateMachineAliasUpdate(ctx, &store.AliasUpdateParams{Arn: arn, Description: &desc,
		Routes: []store.AliasRoute{{Version: 2, Weight: 100}}, UpdatedAt: later})
	if err != nil || u.Description != "new" || fmt.Sprint(u.Routes) != "[{2 100}]" || !u.UpdatedAt.Equal(later) || !u.CreatedAt.Equal(t0) {
		t.Fatalf("StateMachineAliasUpdate = %+v, %v", u, err)
	}
	if err := s.StateMachineVersionDelete(ctx, &store.VersionDeleteParams{StateMachineArn: sm.Arn, Version: 1}); err != nil {
		t.Fatalf("deleting a version no longer routed to: %v", err)
	}
	_, err = s.StateMachineAliasUpdate(ctx, &store.AliasUpdateParams{Arn: arn, Routes: []store.AliasRoute{{Version: 1, Weight: 100}}, UpdatedAt: later})
	wantErr(t, "updating to a deleted version", err, store.ErrNotFound)
	if got, err := s.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: arn}); err != nil || fmt.Sprint(got.Routes) != "[{2 100}]" {
		t.Fatalf("after a refused update = %+v, %v", got, err)
	}
	_, err = s.StateMachineAliasUpdate(ctx, &store.AliasUpdateParams{Arn: sm.Arn + ":nope", UpdatedAt: later})
	wantErr(t, "updating an unknown alias", err, store.ErrNotFound)

	for _, name := range []string{"beta", "alpha"} {
		if _, err := create(sm.Arn+":"+name, store.AliasRoute{Version: 2, Weight: 100}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	var names []string
	cursor := ""
	for {
		page, err := s.StateMachineAliasList(ctx, &store.AliasListParams{StateMachineArn: sm.Arn, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("StateMachineAliasList: %v", err)
		}
		for _, a := range page.Aliases {
			names = append(names, a.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(names) != "[alpha beta prod]" {
		t.Fatalf("aliases %v", names)
	}
	if err := s.StateMachineAliasDelete(ctx, &store.AliasDeleteParams{Arn: sm.Arn + ":beta"}); err != nil {
		t.Fatalf("StateMachineAliasDelete: %v", err)
	}
	wantErr(t, "deleting twice", s.StateMachineAliasDelete(ctx, &store.AliasDeleteParams{Arn: sm.Arn + ":beta"}), store.ErrNotFound)

	// Deleting the machine takes its versions and aliases along.
	if err := s.StateMachineDelete(ctx, &store.StateMachineDeleteParams{Arn: sm.Arn}); err != nil {
		t.Fatalf("StateMachineDelete: %v", err)
	}
	_, err = s.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: arn})
	wantErr(t, "an alias of a deleted machine", err, store.ErrNotFound)
	if page, err := s.StateMachineVersionList(ctx, &store.VersionListParams{StateMachineArn: sm.Arn}); err != nil || len(page.Versions) != 0 {
		t.Fatalf("versions of a deleted machine: %+v, %v", page, err)
	}
}
