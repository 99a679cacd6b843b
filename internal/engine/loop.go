package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// The loop is one goroutine per node. Each round it claims what came due (timers, inbox
// messages), steps every execution concerned, commits all those steps in one transaction, then
// hands new effects to their runners. Only this goroutine steps executions, so an execution's
// in-memory state needs no lock; StartExecution adds new ones to e.live under e.mu.

// claimTTL bounds how long a claimed row stays hidden from other nodes while this one works on it.
const claimTTL = 10 * time.Second

// effectClaimTTL is how long a dispatched task is left to its runner before the outbox offers it
// again (at-least-once: runners get the same task id and idempotency key).
const effectClaimTTL = 5 * time.Minute

func (e *Engine) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastLeaseCheck time.Time
	for {
		now := e.o.Clock.Now()
		if now.Sub(lastLeaseCheck) >= e.o.LeaseTTL/3 {
			e.maintainLeases(ctx, now)
			lastLeaseCheck = now
		}
		busy, err := e.round(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("engine round failed", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		if busy {
			continue
		}
		timer.Reset(e.o.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

type work struct {
	events   []interp.Event
	timers   []string
	messages []int64
}

// round does one claim-step-commit-dispatch cycle and reports whether it found any work.
func (e *Engine) round(ctx context.Context) (bool, error) {
	now := e.o.Clock.Now().UTC()
	timers, err := e.o.Store.TimerClaimDue(ctx, &store.TimerClaimDueParams{Now: now, ClaimUntil: now.Add(claimTTL), Limit: e.o.BatchSize})
	if err != nil {
		return false, fmt.Errorf("claiming timers: %w", err)
	}
	msgs, err := e.o.Store.InboxClaim(ctx, &store.InboxClaimParams{Now: now, ClaimUntil: now.Add(claimTTL), Limit: e.o.BatchSize})
	if err != nil {
		return false, fmt.Errorf("claiming inbox: %w", err)
	}
	byExec := map[string]*work{}
	var order []string
	get := func(arn string) *work {
		w := byExec[arn]
		if w == nil {
			w = &work{}
			byExec[arn] = w
			order = append(order, arn)
		}
		return w
	}
	for _, m := range msgs {
		w := get(m.ExecutionArn)
		w.messages = append(w.messages, m.ID)
		ev, err := decodeMessage(m.Payload)
		if err != nil {
			e.log.Error("dropping an unreadable inbox message", "execution", m.ExecutionArn, "err", err)
			continue
		}
		w.events = append(w.events, ev)
	}
	for _, t := range timers {
		w := get(t.ExecutionArn)
		w.timers = append(w.timers, t.TimerID)
		w.events = append(w.events, interp.TimerFired{TimerID: t.TimerID})
		e.o.Metrics.timerLag.observe(now.Sub(t.Due).Seconds())
	}
	if len(order) > 0 {
		if err := e.acquire(ctx, now, order); err != nil {
			return false, err
		}
		if err := e.step(ctx, now, order, byExec); err != nil {
			return false, err
		}
	}
	dispatched, err := e.dispatch(ctx, now)
	if err != nil {
		return false, err
	}
	return len(order) > 0 || dispatched > 0, nil
}

// acquire makes sure this node holds a lease on each execution, loading the ones it does not
// hold in memory yet. Executions leased by another node are left to it.
func (e *Engine) acquire(ctx context.Context, now time.Time, arns []string) error {
	var missing []string
	e.mu.Lock()
	for _, arn := range arns {
		if e.live[arn] == nil {
			missing = append(missing, arn)
		}
	}
	e.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	got, err := e.o.Store.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{
		Owner: e.o.Node, Now: now, ExpiresAt: now.Add(e.o.LeaseTTL), Arns: missing,
	})
	if err != nil {
		return fmt.Errorf("acquiring leases: %w", err)
	}
	e.adopt(got, now.Add(e.o.LeaseTTL))
	return nil
}

// adopt restores leased executions into memory.
func (e *Engine) adopt(execs []*store.Execution, leased time.Time) {
	for _, ex := range execs {
		if ex.Status.Terminal() {
			continue
		}
		sm, err := e.o.Store.StateMachineGet(context.Background(), &store.StateMachineGetParams{Arn: ex.StateMachineArn, RevisionID: ex.RevisionID})
		if err != nil {
			e.log.Error("cannot load the state machine of an execution", "execution", ex.Arn, "err", err)
			continue
		}
		def, err := e.Definition(sm)
		if err != nil {
			e.log.Error("cannot parse the state machine of an execution", "execution", ex.Arn, "err", err)
			continue
		}
		x, err := interp.Restore(def, ex.State)
		if err != nil {
			e.log.Error("cannot restore an execution", "execution", ex.Arn, "err", err)
			continue
		}
		e.mu.Lock()
		e.live[ex.Arn] = &liveExec{x: x, version: ex.Version, leased: leased}
		e.mu.Unlock()
	}
}

// step applies each execution's events and commits all transitions together.
func (e *Engine) step(ctx context.Context, now time.Time, order []string, byExec map[string]*work) error {
	var trs []*store.Transition
	var lives []*liveExec
	var ended []*interp.Execution
	transitions := 0
	for _, arn := range order {
		e.mu.Lock()
		l := e.live[arn]
		e.mu.Unlock()
		if l == nil {
			continue // leased elsewhere; the claims expire and its owner takes them
		}
		w := byExec[arn]
		tr := &store.Transition{ExecutionArn: arn, LeaseOwner: e.o.Node, Version: l.version}
		var all interp.Result
		for _, ev := range w.events {
			if l.x.Status != interp.Running {
				break
			}
			res, err := interp.Step(l.x, ev, now)
			if err != nil {
				return fmt.Errorf("stepping %s: %w", arn, err)
			}
			all.Events = append(all.Events, res.Events...)
			all.Effects = append(all.Effects, res.Effects...)
		}
		if err := e.record(l.x, all, now, tr, w.timers); err != nil {
			return err
		}
		tr.InboxDelete = w.messages
		if l.x.Status != interp.Running {
			e.finishTransition(l.x, tr, now)
			tr.ReleaseLease = true
			ended = append(ended, l.x)
		}
		transitions += countTransitions(all.Events)
		trs = append(trs, tr)
		lives = append(lives, l)
	}
	if len(trs) == 0 {
		return nil
	}
	start := time.Now()
	errs, err := e.o.Store.TransitionCommitBatch(ctx, &store.TransitionCommitBatchParams{Transitions: trs})
	e.o.Metrics.commitLatency.observe(time.Since(start).Seconds())
	e.o.Metrics.commitBatch.observe(float64(len(trs)))
	if err != nil {
		e.forget(trs)
		return fmt.Errorf("committing %d transitions: %w", len(trs), err)
	}
	e.o.Metrics.transitions.Add(int64(transitions))
	for i, tr := range trs {
		if errs[i] != nil {
			// Another node moved the execution on; reload it when it next has work.
			e.log.Warn("transition not applied", "execution", tr.ExecutionArn, "err", errs[i])
			e.forget(trs[i : i+1])
			continue
		}
		lives[i].version++
		if tr.Status.Terminal() {
			e.forget(trs[i : i+1])
		}
	}
	for _, x := range ended {
		e.o.Metrics.finished(string(x.Status))
	}
	return nil
}

func (e *Engine) forget(trs []*store.Transition) {
	e.mu.Lock()
	for _, tr := range trs {
		delete(e.live, tr.ExecutionArn)
	}
	e.mu.Unlock()
}

// maintainLeases renews the leases of executions held in memory and takes over executions
// whose owner stopped renewing (a node that died).
func (e *Engine) maintainLeases(ctx context.Context, now time.Time) {
	expires := now.Add(e.o.LeaseTTL)
	e.mu.Lock()
	var renew []string
	for arn := range e.live {
		renew = append(renew, arn)
	}
	e.mu.Unlock()
	if len(renew) > 0 {
		got, err := e.o.Store.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Owner: e.o.Node, Now: now, ExpiresAt: expires, Arns: renew})
		if err != nil {
			e.log.Error("renewing leases", "err", err)
		} else {
			kept := make(map[string]bool, len(got))
			for _, ex := range got {
				kept[ex.Arn] = true
			}
			e.mu.Lock()
			for _, arn := range renew {
				if !kept[arn] {
					delete(e.live, arn)
				} else if l := e.live[arn]; l != nil {
					l.leased = expires
				}
			}
			e.mu.Unlock()
		}
	}
	for {
		got, err := e.o.Store.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Owner: e.o.Node, Now: now, ExpiresAt: expires, Limit: e.o.BatchSize})
		if err != nil {
			e.log.Error("taking over expired leases", "err", err)
			return
		}
		if len(got) > 0 {
			e.log.Info("took over executions", "count", len(got))
		}
		e.adopt(got, expires)
		if len(got) < e.o.BatchSize {
			return
		}
	}
}

// dispatch claims outbox effects and starts them. It returns how many it started.
func (e *Engine) dispatch(ctx context.Context, now time.Time) (int, error) {
	effects, err := e.o.Store.EffectClaim(ctx, &store.EffectClaimParams{Now: now, ClaimUntil: now.Add(effectClaimTTL), Limit: e.o.BatchSize})
	if err != nil {
		return 0, fmt.Errorf("claiming effects: %w", err)
	}
	for _, ef := range effects {
		if ef.Kind != effectTask {
			e.log.Error("dropping an effect of unknown kind", "execution", ef.ExecutionArn, "kind", ef.Kind)
			continue
		}
		t, err := decodeTask(ef.Payload)
		if err != nil {
			e.log.Error("dropping an unreadable effect", "execution", ef.ExecutionArn, "err", err)
			continue
		}
		task := &Task{ExecutionArn: ef.ExecutionArn, TaskID: t.TaskID, StateName: t.StateName, Resource: t.Resource,
			Parameters: string(t.Parameters), TimeoutSeconds: t.TimeoutSeconds, HeartbeatSeconds: t.HeartbeatSeconds, Token: t.Token}
		e.o.Metrics.dispatchLatency.observe(now.Sub(ef.CreatedAt).Seconds())
		if isActivity(t.Resource) {
			if err := e.enqueueActivity(ctx, now, task); err != nil {
				return 0, err
			}
			continue
		}
		e.runners.Add(1)
		go func() {
			defer e.runners.Done()
			e.runTask(ctx, task)
		}()
	}
	return len(effects), nil
}

func (e *Engine) enqueueActivity(ctx context.Context, now time.Time, t *Task) error {
	err := e.o.Store.ActivityTaskEnqueue(ctx, &store.ActivityTaskEnqueueParams{
		Token: t.Token, ActivityArn: t.Resource, ExecutionArn: t.ExecutionArn, Input: t.Parameters, Now: now,
	})
	if err != nil {
		return fmt.Errorf("enqueueing activity task: %w", err)
	}
	if err := e.o.Store.EffectDelete(ctx, &store.EffectDeleteParams{ExecutionArn: t.ExecutionArn, EffectID: t.TaskID}); err != nil {
		return fmt.Errorf("closing activity effect: %w", err)
	}
	return nil
}

// runTask runs a task with the Runner and queues its result for the execution.
func (e *Engine) runTask(ctx context.Context, t *Task) {
	var out string
	var err error
	if e.o.Runner == nil {
		err = &TaskError{Name: "States.TaskFailed", Cause: "no task runner is configured for resource " + t.Resource}
	} else {
		out, err = e.o.Runner.Run(ctx, t)
	}
	if errors.Is(err, ErrCallback) {
		e.finishEffect(ctx, t, nil)
		return
	}
	msg := message{Kind: msgTaskSucceeded, TaskID: t.TaskID, Output: out}
	if err != nil {
		var te *TaskError
		if !errors.As(err, &te) {
			te = &TaskError{Name: "States.TaskFailed", Cause: err.Error()}
		}
		msg = message{Kind: msgTaskFailed, TaskID: t.TaskID, Error: &te.Name, Cause: &te.Cause}
	}
	e.finishEffect(ctx, t, &msg)
}

// finishEffect queues a task's result and removes its effect from the outbox. If the process
// dies between the two, the effect runs again and the interpreter ignores the second result.
func (e *Engine) finishEffect(ctx context.Context, t *Task, msg *message) {
	ctx = context.WithoutCancel(ctx)
	if msg != nil {
		_, err := e.o.Store.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: t.ExecutionArn, Payload: encodeMessage(*msg), Now: e.o.Clock.Now()})
		if err != nil && !errors.Is(err, store.ErrExecutionNotRunning) {
			e.log.Error("recording a task result", "execution", t.ExecutionArn, "task", t.TaskID, "err", err)
			return
		}
	}
	if err := e.o.Store.EffectDelete(ctx, &store.EffectDeleteParams{ExecutionArn: t.ExecutionArn, EffectID: t.TaskID}); err != nil {
		e.log.Error("closing a task effect", "execution", t.ExecutionArn, "task", t.TaskID, "err", err)
	}
	e.poke()
}

func isActivity(resource string) bool {
	return len(resource) > len("arn:aws:states:") && resourceKindOf(resource) == "activity"
}
