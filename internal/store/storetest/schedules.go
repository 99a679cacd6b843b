package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// testSchedules holds the Scheduler entity methods to their contract: keys by (kind, group,
// name), pages by (group, name) with group, prefix and state filters, compare-and-swap
// updates and deletes, a group deleted with its schedules, and claims of due schedules that
// hide them until they expire or an update ends them.
func testSchedules(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	create := func(kind, group, name, state string, due *time.Time) {
		t.Helper()
		if _, err := s.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: kind, Group: group, Name: name, State: state,
			Doc: []byte(`{"n":"` + name + `"}`), Due: due, Nominal: due, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	create(store.ScheduleKindGroup, "", "default", "ACTIVE", nil)
	create(store.ScheduleKindGroup, "", "g2", "ACTIVE", nil)
	create(store.ScheduleKindSchedule, "default", "b", "ENABLED", at(time.Minute))
	create(store.ScheduleKindSchedule, "default", "a", "ENABLED", at(2*time.Minute))
	create(store.ScheduleKindSchedule, "default", "a_x", "DISABLED", nil)
	create(store.ScheduleKindSchedule, "g2", "a", "ENABLED", at(3*time.Minute))
	if _, err := s.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "a",
		State: "ENABLED", Doc: []byte(`{}`), Now: t0}); !errors.Is(err, store.ErrScheduleAlreadyExists) {
		t.Fatalf("second create: %v, want ErrScheduleAlreadyExists", err)
	}
	list := func(p store.ScheduleListParams) string {
		t.Helper()
		var names []string
		for {
			res, err := s.ScheduleList(ctx, &p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Schedules {
				names = append(names, e.Group+"/"+e.Name)
			}
			if p.Cursor = res.NextCursor; p.Cursor == "" {
				return strings.Join(names, ",")
			}
		}
	}
	for _, c := range []struct {
		p    store.ScheduleListParams
		want string
	}{
		{store.ScheduleListParams{Kind: store.ScheduleKindSchedule, Limit: 1}, "default/a,default/a_x,default/b,g2/a"},
		{store.ScheduleListParams{Kind: store.ScheduleKindSchedule, Group: "default", Limit: 2}, "default/a,default/a_x,default/b"},
		{store.ScheduleListParams{Kind: store.ScheduleKindSchedule, Prefix: "a", Limit: 2}, "default/a,default/a_x,g2/a"},
		{store.ScheduleListParams{Kind: store.ScheduleKindSchedule, State: "DISABLED"}, "default/a_x"},
		{store.ScheduleListParams{Kind: store.ScheduleKindGroup}, "/default,/g2"},
	} {
		if got := list(c.p); got != c.want {
			t.Errorf("list %+v = %s, want %s", c.p, got, c.want)
		}
	}

	// Claims: due schedules earliest first, hidden while claimed.
	claim := func(now time.Duration) string {
		t.Helper()
		got, err := s.ScheduleClaimDue(ctx, &store.ScheduleClaimDueParams{Now: t0.Add(now), Until: t0.Add(now + time.Minute), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range got {
			names = append(names, e.Group+"/"+e.Name)
		}
		return strings.Join(names, ",")
	}
	if got := claim(0); got != "" {
		t.Fatalf("claim before anything is due = %s", got)
	}
	if got := claim(90 * time.Second); got != "default/b" {
		t.Fatalf("claim at 90s = %s", got)
	}
	if got := claim(2 * time.Minute); got != "default/a" {
		t.Fatalf("claim at 2m (b claimed until 2m30s) = %s", got)
	}
	e, err := s.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "b"})
	if err != nil || e.Version != 1 || !e.Due.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) || e.State != "ENABLED" {
		t.Fatalf("get b = %+v, %v", e, err)
	}
	// The claimer's update ends the claim; a stale one conflicts.
	next := at(10 * time.Minute)
	upd := &store.ScheduleUpdateParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "b", IfVersion: 1, State: "ENABLED",
		Doc: []byte(`{"v":2}`), Due: next, Nominal: next, Attempt: 2, Now: t0.Add(time.Minute)}
	if e, err = s.ScheduleUpdate(ctx, upd); err != nil || e.Version != 2 || e.Attempt != 2 || !e.Due.Equal(next.Truncate(time.Microsecond)) {
		t.Fatalf("update b = %+v, %v", e, err)
	}
	if _, err := s.ScheduleUpdate(ctx, upd); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	// a's claim (until 3m) expired; earliest due first: a (2m), g2/a (3m), b (10m).
	if got := claim(11 * time.Minute); got != "default/a,g2/a,default/b" {
		t.Fatalf("claim at 11m = %s", got)
	}
	// An update to no firing takes the schedule out of claims.
	upd = &store.ScheduleUpdateParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "a", State: "DISABLED",
		Doc: []byte(`{}`), Now: t0.Add(11 * time.Minute)}
	if _, err := s.ScheduleUpdate(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got := claim(20 * time.Minute); got != "g2/a,default/b" {
		t.Fatalf("claim at 20m = %s", got)
	}
	if err := s.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "b", IfVersion: 1}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := s.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindSchedule, Group: "default", Name: "b"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// A group goes with its schedules.
	if err := s.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindGroup, Name: "g2"}); err != nil {
		t.Fatal(err)
	}
	if got := list(store.ScheduleListParams{Kind: store.ScheduleKindSchedule}); got != "default/a,default/a_x" {
		t.Fatalf("after deleting g2: %s", got)
	}
}

// testScheduleClaimConcurrent claims many due schedules from several goroutines at once:
// each is handed to exactly one of them.
func testScheduleClaimConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 60
	due := t0
	for i := range n {
		if _, err := s.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: store.ScheduleKindSchedule, Group: "default",
			Name: "s" + string(rune('A'+i/26)) + string(rune('a'+i%26)), State: "ENABLED", Doc: []byte(`{}`), Due: &due, Nominal: &due, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := s.ScheduleClaimDue(ctx, &store.ScheduleClaimDueParams{Now: t0.Add(time.Second), Until: t0.Add(time.Hour), Limit: 7})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[e.Name]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d schedules claimed, want %d", len(seen), n)
	}
	for name, k := range seen {
		if k != 1 {
			t.Errorf("%s claimed %d times", name, k)
		}
	}
}
