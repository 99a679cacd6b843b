package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// testGlue holds the Glue entity methods to their contract: keys by (kind, parent, name),
// compare-and-swap updates, pages, cascading deletes, the active limit under concurrent
// creates, and a node's active entities found by owner.
func testGlue(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(kind, parent, name string, active bool, owner string, limit int) (*store.GlueEntity, error) {
		return s.GlueCreate(ctx, &store.GlueCreateParams{Kind: kind, Parent: parent, Name: name, Doc: []byte(`{"n":"` + name + `"}`),
			Active: active, Owner: owner, ActiveLimit: limit, Now: t0})
	}
	if _, err := create(store.GlueDatabase, "", "db1", false, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := create(store.GlueDatabase, "", "db1", false, "", 0); !errors.Is(err, store.ErrGlueAlreadyExists) {
		t.Fatalf("second create: %v, want ErrGlueAlreadyExists", err)
	}
	for _, n := range []string{"t3", "t1", "t2", "t_%"} {
		if _, err := create(store.GlueTable, "db1", n, false, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	// Same table name in another database is another entity.
	if _, err := create(store.GlueTable, "db2", "t1", false, "", 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if _, err := create(store.GluePartition, store.GlueParent("db1", "t1"), n, false, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := create(store.GluePartition, store.GlueParent("db2", "t1"), "a", false, "", 0); err != nil {
		t.Fatal(err)
	}

	var names []string
	cursor := ""
	for {
		res, err := s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueTable, Parent: "db1", Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Entities {
			names = append(names, e.Name)
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if got := strings.Join(names, ","); got != "t1,t2,t3,t_%" {
		t.Fatalf("tables of db1 = %s", got)
	}
	names = nil
	cursor = ""
	for {
		res, err := s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueTable, AnyParent: true, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Entities {
			names = append(names, e.Parent+"."+e.Name)
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if got := strings.Join(names, ","); got != "db1.t1,db1.t2,db1.t3,db1.t_%,db2.t1" {
		t.Fatalf("all tables = %s", got)
	}

	e, err := s.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueTable, Parent: "db1", Name: "t2"})
	if err != nil || string(e.Doc) != `{"n":"t2"}` || e.Version != 1 || !e.UpdatedAt.Equal(t0.Truncate(1000)) {
		t.Fatalf("GlueGet = %+v, %v", e, err)
	}
	if _, err := s.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueTable, Parent: "db2", Name: "t2"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GlueGet of a missing table: %v", err)
	}
	upd := &store.GlueUpdateParams{Kind: store.GlueTable, Parent: "db1", Name: "t2", IfVersion: 1, Doc: []byte(`{"v":2}`), Now: t0.Add(1e9)}
	if e, err = s.GlueUpdate(ctx, upd); err != nil || e.Version != 2 || string(e.Doc) != `{"v":2}` {
		t.Fatalf("GlueUpdate = %+v, %v", e, err)
	}
	if _, err := s.GlueUpdate(ctx, upd); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale GlueUpdate: %v, want ErrConflict", err)
	}
	upd.Name = "nope"
	if _, err := s.GlueUpdate(ctx, upd); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GlueUpdate of a missing table: %v", err)
	}

	// Deleting db1 takes its tables and their partitions, and nothing of db2.
	err = s.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GlueDatabase, Name: "db1", Children: []store.GlueChildren{
		{Kind: store.GlueTable, Parent: "db1"}, {Kind: store.GluePartition, Parent: "db1", ParentPrefix: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind, parent string
		want         int
	}{{store.GlueTable, "db1", 0}, {store.GluePartition, store.GlueParent("db1", "t1"), 0}, {store.GlueTable, "db2", 1},
		{store.GluePartition, store.GlueParent("db2", "t1"), 1}} {
		res, err := s.GlueList(ctx, &store.GlueListParams{Kind: c.kind, Parent: c.parent})
		if err != nil || len(res.Entities) != c.want {
			t.Fatalf("after delete, %s under %q: %d, %v; want %d", c.kind, c.parent, len(res.Entities), err, c.want)
		}
	}
	if err := s.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GlueDatabase, Name: "db1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}

	// Ten concurrent creates under a limit of 3: exactly three win.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, limited := 0, 0
	for i := range 10 {
		wg.Go(func() {
			_, err := create(store.GlueJobRun, "job", string(rune('a'+i)), true, nodeA, 3)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrGlueLimit):
				limited++
			default:
				t.Errorf("create run: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 3 || limited != 7 {
		t.Fatalf("limit 3: %d created, %d limited", won, limited)
	}
	if _, err := create(store.GlueJobRun, "job", "z", false, nodeB, 3); !errors.Is(err, store.ErrGlueLimit) {
		t.Fatalf("fourth run: %v", err)
	}
	// A node finds its own active runs.
	res, err := s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, Owner: nodeA})
	if err != nil || len(res.Entities) != 3 {
		t.Fatalf("active runs of node A: %d, %v", len(res.Entities), err)
	}
	first := res.Entities[0]
	if _, err := s.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: first.Kind, Parent: first.Parent, Name: first.Name,
		Doc: []byte(`{}`), Now: t0}); err != nil {
		t.Fatal(err)
	}
	if res, err = s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, Owner: nodeA}); err != nil || len(res.Entities) != 2 {
		t.Fatalf("active runs of node A after one ended: %d, %v", len(res.Entities), err)
	}
	if res, err = s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, Owner: nodeB}); err != nil || len(res.Entities) != 0 {
		t.Fatalf("active runs of node B: %d, %v", len(res.Entities), err)
	}
	// Work not written since a time: the active runs only, whatever their owner.
	if res, err = s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, Owner: nodeA}); err != nil || len(res.Entities) != 2 {
		t.Fatalf("active runs of node A: %d, %v", len(res.Entities), err)
	}
	if _, err := s.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: first.Kind, Parent: first.Parent, Name: res.Entities[0].Name,
		Doc: []byte(`{}`), Active: true, Owner: nodeA, Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if res, err = s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, StaleBefore: t0.Add(time.Second)}); err != nil || len(res.Entities) != 1 {
		t.Fatalf("stale runs: %d, %v", len(res.Entities), err)
	}
	if res, err = s.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, StaleBefore: t0.Add(time.Hour)}); err != nil || len(res.Entities) != 2 {
		t.Fatalf("runs stale an hour later: %d, %v", len(res.Entities), err)
	}
	if _, err := s.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GlueJob, Name: "x", Now: t0}); !errors.Is(err, store.ErrInvalidParams) {
		t.Fatalf("create without a document: %v", err)
	}
}
