package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// Bench runs the store benchmarks; newStore is as for Run.
//
// The workloads mirror the engine's: a transition writes a ~200-byte state blob and two
// ~150-byte history events, and commits are grouped.
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("CommitBatch100", func(b *testing.B) { benchCommit(b, newStore(b), 100, 0) })
	b.Run("CommitBatch100WithReaders", func(b *testing.B) { benchCommit(b, newStore(b), 100, 4) })
	b.Run("CommitSingle", func(b *testing.B) { benchCommit(b, newStore(b), 1, 0) })
	b.Run("DueClaim100Of100k", func(b *testing.B) { benchDueClaim(b, newStore(b)) })
}

var (
	benchState   = bytes.Repeat([]byte("s"), 200)
	benchPayload = bytes.Repeat([]byte("e"), 150)
)

// benchCommit commits batches of size transitions, one per execution, from one goroutine (as
// the engine's group committer does), while readers goroutines page through histories.
func benchCommit(b *testing.B, s store.Store, size, readers int) {
	ctx := b.Context()
	sm := benchMachine(b, s)
	xs := make([]*store.Execution, size)
	for i := range xs {
		x, err := s.ExecutionCreate(ctx, &store.ExecutionCreateParams{
			Arn: execArn(sm.Name, fmt.Sprint("x", i)), StateMachineArn: sm.Arn, RevisionID: sm.RevisionID,
			Name: fmt.Sprint("x", i), Type: store.StateMachineStandard, Input: "{}", StartDate: t0,
			State: benchState, LeaseOwner: nodeA, LeaseExpiresAt: t0.Add(24 * time.Hour),
			Mutations: store.Mutations{Events: []*store.HistoryEvent{{ID: 1, Type: "ExecutionStarted", Timestamp: t0, Payload: benchPayload}}},
		})
		if err != nil {
			b.Fatalf("ExecutionCreate: %v", err)
		}
		xs[i] = x
	}
	var reads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: xs[i%size].Arn, Limit: 20, Reverse: true}); err != nil {
					b.Errorf("HistoryList: %v", err)
					return
				}
				reads.Add(1)
			}
		})
	}
	trs := make([]*store.Transition, size)
	// Every execution advances in lockstep: one version and two events per round.
	version, next := int64(1), int64(2)
	for b.Loop() {
		for i, x := range xs {
			at := t0.Add(time.Duration(next) * time.Millisecond)
			trs[i] = &store.Transition{
				ExecutionArn: x.Arn, LeaseOwner: nodeA, Version: version, State: benchState, Status: store.StatusRunning,
				Mutations: store.Mutations{Now: at, Events: []*store.HistoryEvent{
					{ID: next, Type: "PassStateEntered", Timestamp: at, Payload: benchPayload},
					{ID: next + 1, Type: "PassStateExited", Timestamp: at, Payload: benchPayload},
				}},
			}
		}
		res, err := s.TransitionCommitBatch(ctx, &store.TransitionCommitBatchParams{Transitions: trs})
		if err != nil {
			b.Fatalf("TransitionCommitBatch: %v", err)
		}
		for _, err := range res {
			if err != nil {
				b.Fatalf("transition: %v", err)
			}
		}
		version, next = version+1, next+2
	}
	elapsed := b.Elapsed()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(b.N*size)/elapsed.Seconds(), "transitions/s")
	if readers > 0 {
		b.ReportMetric(float64(reads.Load())/elapsed.Seconds(), "reads/s")
	}
}

// benchDueClaim leases 100 executions with a due timer at a time among 1,000 executions with
// 100,000 pending timers, 1,000 of them due (one per execution): the cost of the engine's
// timer poll with a large backlog of Wait states.
func benchDueClaim(b *testing.B, s store.Store) {
	ctx := b.Context()
	sm := benchMachine(b, s)
	const executions, perExecution, due = 1000, 100, 1000
	for i := range executions {
		ts := make([]*store.TimerInsert, perExecution)
		for j := range ts {
			n := i*perExecution + j
			d := t0.Add(24*time.Hour + time.Duration(n)*time.Millisecond) // far off
			if n%(executions*perExecution/due) == 0 {
				d = t0.Add(time.Duration(n) * time.Microsecond)
			}
			ts[j] = &store.TimerInsert{TimerID: fmt.Sprint("t", j), Due: d}
		}
		if _, err := s.ExecutionCreate(ctx, &store.ExecutionCreateParams{
			Arn: execArn(sm.Name, fmt.Sprint("x", i)), StateMachineArn: sm.Arn, RevisionID: sm.RevisionID,
			Name: fmt.Sprint("x", i), Type: store.StateMachineStandard, Input: "{}", StartDate: t0, State: benchState,
			Mutations: store.Mutations{TimersInsert: ts},
		}); err != nil {
			b.Fatalf("ExecutionCreate: %v", err)
		}
	}
	now := t0.Add(time.Hour)
	for b.Loop() {
		// A lease that runs out a microsecond later leaves its executions free for the next
		// round, which leases the same 100 again (those with the earliest due timers): every
		// round does the same work over the same backlog.
		now = now.Add(time.Microsecond)
		got, err := s.ExecutionClaimDue(ctx, &store.ExecutionClaimDueParams{Owner: nodeA, Now: now, ExpiresAt: now.Add(time.Microsecond), Limit: 100})
		if err != nil {
			b.Fatalf("ExecutionClaimDue: %v", err)
		}
		if len(got) != 100 {
			b.Fatalf("claimed %d executions, want 100", len(got))
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "executions/s")
}

func benchMachine(b *testing.B, s store.Store) *store.StateMachine {
	sm, err := s.StateMachineCreate(b.Context(), &store.StateMachineCreateParams{
		Arn: smArn("bench"), Name: "bench", Type: store.StateMachineStandard, CreatedAt: t0,
		Revision: store.Revision{RevisionID: "r1", Definition: "{}"},
	})
	if err != nil {
		b.Fatalf("StateMachineCreate: %v", err)
	}
	return sm
}
