package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// claimAllConcurrently runs n claimers until each gets nothing and returns how often each
// key was claimed.
func claimAllConcurrently(t *testing.T, n int, claim func() ([]string, error)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				keys, err := claim()
				if err != nil {
					errs <- err
					return
				}
				if len(keys) == 0 {
					return
				}
				mu.Lock()
				for _, k := range keys {
					got[k]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claim: %v", err)
	}
	return got
}

func checkExactlyOnce(t *testing.T, got map[string]int, want map[string]bool) {
	t.Helper()
	for k, n := range got {
		if n != 1 || !want[k] {
			t.Errorf("%s claimed %d times (expected: %v)", k, n, want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("claimed %d distinct rows, want %d", len(got), len(want))
	}
}

func testEffects(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA})
	tr := step(x, nodeA, "scheduled")
	tr.Now = t0
	tr.EffectsInsert = []*store.EffectInsert{
		{EffectID: "e1", Kind: "schedule-task", IdempotencyKey: "x/task-1", Payload: []byte(`{"resource":"r"}`)},
		// e2 stays with the committing node for a minute, which dispatches it itself.
		{EffectID: "e2", Kind: "schedule-task", IdempotencyKey: "x/task-2", AvailableAt: t0.Add(time.Minute)},
	}
	mustCommit(t, s, tr)
	x.Version++

	claim := func(now time.Time) []*store.Effect {
		t.Helper()
		es, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: now, ClaimUntil: now.Add(30 * time.Second), Limit: 10})
		if err != nil {
			t.Fatalf("EffectClaim: %v", err)
		}
		return es
	}
	es := claim(t0)
	if len(es) != 1 {
		t.Fatalf("claimed %d effects at t0, want e1", len(es))
	}
	if e := es[0]; e.EffectID != "e1" || e.ExecutionArn != x.Arn || e.Kind != "schedule-task" ||
		e.IdempotencyKey != "x/task-1" || !bytes.Equal(e.Payload, []byte(`{"resource":"r"}`)) || !e.CreatedAt.Equal(t0) {
		t.Fatalf("claimed %+v", e)
	}
	if es := claim(t0.Add(10 * time.Second)); len(es) != 0 {
		t.Fatalf("claimed %d effects while all are taken", len(es))
	}
	// A node whose task runs long renews its claim: e1 stays hidden past the first expiry.
	extend := func(id string, until time.Time) {
		t.Helper()
		if err := s.EffectClaimExtend(ctx, &store.EffectClaimExtendParams{ExecutionArn: x.Arn, EffectID: id, Until: until}); err != nil {
			t.Fatalf("EffectClaimExtend: %v", err)
		}
	}
	extend("e1", t0.Add(50*time.Second))
	if es := claim(t0.Add(40 * time.Second)); len(es) != 0 {
		t.Fatalf("claimed %v at t0+40s, within e1's renewed claim", es)
	}
	// A dispatcher that died: e1's claim runs out, and it is handed out again with its key.
	es = claim(t0.Add(time.Minute))
	if len(es) != 2 || es[0].EffectID != "e1" || es[1].EffectID != "e2" {
		t.Fatalf("claimed %v after claims ran out, want e1 then e2", es)
	}
	for range 2 {
		if err := s.EffectDelete(ctx, &store.EffectDeleteParams{ExecutionArn: x.Arn, EffectID: "e1"}); err != nil {
			t.Fatalf("EffectDelete: %v", err)
		}
	}
	// Gone: nothing to renew, and the node learns its task's result is not wanted.
	if err := s.EffectClaimExtend(ctx, &store.EffectClaimExtendParams{ExecutionArn: x.Arn, EffectID: "e1", Until: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EffectClaimExtend of a deleted effect: %v, want ErrNotFound", err)
	}
	done := step(x, nodeA, "task-2 done")
	done.EffectsDelete = []string{"e2"}
	mustCommit(t, s, done)
	if es := claim(t0.Add(time.Hour)); len(es) != 0 {
		t.Fatalf("claimed %v after every effect was done", es)
	}

	// Many dispatchers, many effects: each handed out once.
	y := mustStart(t, s, sm, startOpts{name: "y", owner: nodeA})
	many := step(y, nodeA, "fan-out")
	want := map[string]bool{}
	for i := range 60 {
		id := fmt.Sprint("e", i)
		many.EffectsInsert = append(many.EffectsInsert, &store.EffectInsert{EffectID: id, Kind: "k", IdempotencyKey: id})
		want[id] = true
	}
	mustCommit(t, s, many)
	got := claimAllConcurrently(t, 6, func() ([]string, error) {
		es, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: t0, ClaimUntil: t0.Add(time.Hour), Limit: 5})
		var ids []string
		for _, e := range es {
			ids = append(ids, e.EffectID)
		}
		return ids, err
	})
	checkExactlyOnce(t, got, want)
}

func testInbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA})
	var msgs []*store.InboxMessage
	for _, p := range []string{"heartbeat", "stop"} {
		m, err := s.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: x.Arn, Payload: []byte(p), Now: t0})
		if err != nil {
			t.Fatalf("InboxAppend: %v", err)
		}
		if m.ExecutionArn != x.Arn || string(m.Payload) != p || !m.CreatedAt.Equal(t0) {
			t.Fatalf("appended %+v", m)
		}
		msgs = append(msgs, m)
	}
	if msgs[1].ID <= msgs[0].ID {
		t.Fatalf("message ids %d then %d: not increasing", msgs[0].ID, msgs[1].ID)
	}
	_, err := s.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: execArn("m", "nope"), Payload: []byte("x"), Now: t0})
	wantErr(t, "message to unknown execution", err, store.ErrNotFound)

	claim := func(now time.Time) []string {
		t.Helper()
		ms, err := s.InboxClaim(ctx, &store.InboxClaimParams{Now: now, ClaimUntil: now.Add(time.Minute), Limit: 10})
		if err != nil {
			t.Fatalf("InboxClaim: %v", err)
		}
		var ps []string
		for _, m := range ms {
			ps = append(ps, string(m.Payload))
		}
		return ps
	}
	if got := claim(t0); !slices.Equal(got, []string{"heartbeat", "stop"}) {
		t.Fatalf("claimed %v", got)
	}
	if got := claim(t0.Add(time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v twice", got)
	}
	tr := step(x, nodeA, "heartbeat applied")
	tr.InboxDelete = []int64{msgs[0].ID}
	mustCommit(t, s, tr)
	if got := claim(t0.Add(time.Hour)); !slices.Equal(got, []string{"stop"}) {
		t.Fatalf("after consuming the first message: claimed %v", got)
	}
}

func testTaskTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA, tokens: []*store.TaskTokenInsert{
		{Token: "tok-1", TaskID: "task-1"}, {Token: "tok-2", TaskID: "task-2"}}})

	tok, err := s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "tok-1"})
	if err != nil || tok.ExecutionArn != x.Arn || tok.TaskID != "task-1" || !tok.CreatedAt.Equal(t0) {
		t.Fatalf("TaskTokenGet = %+v, %v", tok, err)
	}
	_, err = s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "nope"})
	wantErr(t, "unknown token", err, store.ErrNotFound)

	// Of several SendTaskSuccess calls with one token, exactly one is accepted.
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.TaskTokenClose(ctx, &store.TaskTokenCloseParams{Token: "tok-1", Payload: []byte(fmt.Sprint("result-", i)), Now: t0})
		})
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		if err == nil {
			accepted++
		} else {
			wantErr(t, "second close", err, store.ErrTaskTokenClosed)
		}
	}
	if accepted != 1 {
		t.Fatalf("%d closes accepted, want 1", accepted)
	}
	_, err = s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "tok-1"})
	wantErr(t, "closed token", err, store.ErrTaskTokenClosed)
	ms, err := s.InboxClaim(ctx, &store.InboxClaimParams{Now: t0, ClaimUntil: t0.Add(time.Minute), Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].ExecutionArn != x.Arn {
		t.Fatalf("inbox after close = %v, %v", ms, err)
	}

	// Tokens are unique across executions: a transition reusing one is refused whole.
	y := mustStart(t, s, sm, startOpts{name: "y", owner: nodeA})
	dup := step(y, nodeA, "dup")
	dup.TaskTokensInsert = []*store.TaskTokenInsert{{Token: "tok-2", TaskID: "task-9"}}
	wantErr(t, "reused token", commit(t, s, dup)[0], store.ErrConflict)

	tr := step(x, nodeA, "task-1 done")
	tr.TaskTokensDelete = []string{"tok-1", "tok-2"}
	tr.InboxDelete = []int64{ms[0].ID}
	mustCommit(t, s, tr)
	_, err = s.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: "tok-2"})
	wantErr(t, "token its transition closed", err, store.ErrTaskTokenClosed)
	_, err = s.TaskTokenClose(ctx, &store.TaskTokenCloseParams{Token: "tok-2", Now: t0})
	wantErr(t, "close a closed token", err, store.ErrTaskTokenClosed)
	_, err = s.TaskTokenClose(ctx, &store.TaskTokenCloseParams{Token: "never", Now: t0})
	wantErr(t, "close a token never issued", err, store.ErrNotFound)
}

func testExecutionClaimDue(t *testing.T, s store.Store) {
	sm := mustCreateMachine(t, s, "m")
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	x := mustStart(t, s, sm, startOpts{name: "x", timers: []*store.TimerInsert{
		{TimerID: "a", Due: sec(3)}, {TimerID: "b", Due: sec(1)}, {TimerID: "c", Due: sec(2)}, {TimerID: "d", Due: sec(10)},
	}})
	mustStart(t, s, sm, startOpts{name: "y", owner: nodeB, timers: []*store.TimerInsert{{TimerID: "e", Due: sec(1.5)}}})
	mustStart(t, s, sm, startOpts{name: "z", timers: []*store.TimerInsert{{TimerID: "f", Due: sec(2.5)}}})
	claim := func(owner string, now float64, limit int) ([]string, []*store.DueExecution) {
		t.Helper()
		xs, err := s.ExecutionClaimDue(t.Context(), &store.ExecutionClaimDueParams{
			Owner: owner, Now: sec(now), ExpiresAt: sec(now + 30), Limit: limit,
		})
		if err != nil {
			t.Fatalf("ExecutionClaimDue: %v", err)
		}
		var got []string
		for _, d := range xs {
			ids := d.Name + ":"
			for _, tm := range d.Timers {
				ids += tm.TimerID
				if tm.ExecutionArn != d.Arn {
					t.Errorf("timer %s of %s reported for %s", tm.TimerID, tm.ExecutionArn, d.Arn)
				}
			}
			if d.LeaseOwner != owner || len(d.State) == 0 {
				t.Errorf("%s: lease owner %q, state %q", d.Name, d.LeaseOwner, d.State)
			}
			got = append(got, ids)
		}
		return got, xs
	}
	steps := []struct {
		name  string
		owner string
		now   float64
		limit int
		want  []string
	}{
		{"nothing due yet", nodeA, 0, 10, nil},
		{"due ones, leased ones skipped, earliest first", nodeA, 2, 10, []string{"x:bc"}},
		{"leased by the claimer itself", nodeA, 2.7, 10, []string{"z:f"}},
		{"nothing left to lease", nodeA, 3, 10, nil},
		{"expired leases, limit", nodeB, 61, 1, []string{"x:bcad"}},
		{"the rest, by earliest due timer", nodeB, 62, 10, []string{"y:e", "z:f"}},
	}
	for _, st := range steps {
		if got, _ := claim(st.owner, st.now, st.limit); !slices.Equal(got, st.want) {
			t.Fatalf("%s: claimed %v, want %v", st.name, got, st.want)
		}
	}
	// Firing "b" consumes it and releases the lease, which makes the others due again at once.
	x = mustGet(t, s, x.Arn)
	tr := step(x, nodeB, "fired-b")
	tr.TimersDelete, tr.ReleaseLease = []string{"b"}, true
	mustCommit(t, s, tr)
	got, xs := claim(nodeA, 63, 10)
	if !slices.Equal(got, []string{"x:cad"}) || xs[0].Version != x.Version+1 || string(xs[0].State) != "fired-b" {
		t.Fatalf("after firing b: claimed %v", got)
	}
}

// testExecutionClaimConcurrent has claimers race over executions with due timers: no
// execution may be leased twice, and each comes with all its due timers.
func testExecutionClaimConcurrent(t *testing.T, s store.Store) {
	sm := mustCreateMachine(t, s, "m")
	want := map[string]bool{}
	for i := range 20 {
		var ts []*store.TimerInsert
		for j := range 3 {
			ts = append(ts, &store.TimerInsert{TimerID: fmt.Sprint("t", j), Due: t0.Add(-time.Duration(i*10+j) * time.Second)})
		}
		mustStart(t, s, sm, startOpts{name: fmt.Sprint("x", i), timers: ts})
		want[fmt.Sprint("x", i, ":t2t1t0")] = true
	}
	var n atomic.Int64
	got := claimAllConcurrently(t, 8, func() ([]string, error) {
		owner := fmt.Sprint("node-", n.Add(1))
		xs, err := s.ExecutionClaimDue(t.Context(), &store.ExecutionClaimDueParams{Owner: owner, Now: t0, ExpiresAt: t0.Add(time.Hour), Limit: 7})
		var keys []string
		for _, d := range xs {
			k := d.Name + ":"
			for _, tm := range d.Timers {
				k += tm.TimerID
			}
			keys = append(keys, k)
		}
		return keys, err
	})
	checkExactlyOnce(t, got, want)
}

// testInboxClosesEffect: a task's result queued with its effect's id removes the effect in the
// same transaction, and leaves the execution's other effects alone.
func testInboxClosesEffect(t *testing.T, s store.Store) {
	ctx := t.Context()
	sm := mustCreateMachine(t, s, "m")
	x := mustStart(t, s, sm, startOpts{name: "x", owner: nodeA})
	tr := step(x, nodeA, "scheduled")
	tr.Now = t0
	tr.EffectsInsert = []*store.EffectInsert{{EffectID: "e1", Kind: "k", IdempotencyKey: "x/e1"}, {EffectID: "e2", Kind: "k", IdempotencyKey: "x/e2"}}
	mustCommit(t, s, tr)
	if _, err := s.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: x.Arn, Payload: []byte("e1 done"), Now: t0, EffectID: "e1"}); err != nil {
		t.Fatalf("InboxAppend: %v", err)
	}
	es, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: t0, ClaimUntil: t0.Add(time.Minute), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].EffectID != "e2" {
		t.Fatalf("effects left after e1's result: %v, want e2 alone", es)
	}
	ms, err := s.InboxClaim(ctx, &store.InboxClaimParams{Now: t0, ClaimUntil: t0.Add(time.Minute), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || string(ms[0].Payload) != "e1 done" {
		t.Fatalf("inbox after e1's result: %v", ms)
	}
}
