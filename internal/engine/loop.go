package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// The loop is one goroutine per node. Each round it claims what came due (timers, inbox
// messages), leases and restores the executions concerned, steps them, commits all those steps
// (releasing the leases) in one transaction, then hands new effects to their runners.

// claimTTL bounds how long a claimed row stays hidden from other nodes while this one works on it.
const claimTTL = 10 * time.Second

// defaultTaskClaimTTL is how long a dispatched task is left to its runner before the outbox
// offers it again (at-least-once: runners get the same task id and idempotency key), unless the
// runner's node renews the claim (runTask), which it does while the task runs.
const defaultTaskClaimTTL = 30 * time.Second

// The loop overlaps a round's commit with the next round: it steps the executions it claimed
// (CPU work: restore, step, snapshot) while the previous round's commit runs, then starts this
// round's commit and claims the next round meanwhile. The commit's executions stay leased
// until it ends, so the claim cannot take them. So the store's writer, which is what bounds
// how many executions a node resumes per second, is busy while the loop computes.
//
// While the store fails (a full disk, a lost database), the loop backs off before it claims
// again, from PollInterval doubling up to maxBackoff, and starts over once a round goes
// through. Without it a failed commit, which releases its leases, let the very next claim take
// the same executions again at once: hundreds of failing commits a second, each logged, taking
// the writer from the API's calls.
func (e *Engine) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var (
		next      *claimed
		carry     []*store.InboxMessage
		inflight  chan struct{}
		commitErr error // the result of the commit in flight, set before inflight is closed
		failing   bool  // a store call of this round (or the previous claim) failed
		backoff   time.Duration
	)
	defer func() {
		if inflight != nil {
			<-inflight
		}
	}()
	for {
		cur := next
		var st *stepped
		var err error
		if cur != nil {
			st, err = e.step(ctx, cur)
			if err != nil && ctx.Err() == nil {
				e.log.Error("engine round failed", "err", err)
				failing = true
			}
		}
		if inflight != nil {
			<-inflight
			inflight = nil
			failing = failing || commitErr != nil
		}
		var busy map[string]*work
		if st != nil && len(st.trs) > 0 {
			busy = cur.byExec
			done := make(chan struct{})
			inflight = done
			go func() {
				defer close(done)
				commitErr = e.commit(ctx, st)
				if commitErr != nil && ctx.Err() == nil {
					e.log.Error("engine commit failed", "err", commitErr)
				}
			}()
		}
		now := e.o.Clock.Now().UTC()
		dispatched, err := e.dispatch(ctx, now)
		if err != nil && ctx.Err() == nil {
			e.log.Error("engine dispatch failed", "err", err)
			failing = true
		}
		if failing {
			backoff = min(max(2*backoff, e.o.PollInterval), maxBackoff)
			// The commit in flight, if any, goes on meanwhile; nothing else is held.
			if e.o.Clock.Sleep(ctx, backoff) != nil {
				return
			}
			now = e.o.Clock.Now().UTC()
		} else {
			backoff = 0
		}
		next, carry, err = e.claim(ctx, now, busy, carry)
		failing = err != nil
		if err != nil && ctx.Err() == nil {
			e.log.Error("engine claim failed", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		if next != nil || inflight != nil || dispatched > 0 {
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

// maxBackoff bounds the loop's pause while the store fails: the store is retried at least
// about once a second, so executions go on soon after it recovers.
const maxBackoff = time.Second

type work struct {
	events   []interp.Event
	timers   []string
	messages []int64
}

// claimed is one round's work: the executions leased, with the events to apply.
type claimed struct {
	now    time.Time
	order  []string
	byExec map[string]*work
	leased []*store.Execution
}

// claim claims inbox messages and due timers and leases their executions. Messages for
// executions in busy (the round whose commit is about to run) cannot be applied before that
// commit: they are returned to be carried into a later round, together with carry's messages
// still in the same case. It returns nil when there is nothing to do.
func (e *Engine) claim(ctx context.Context, now time.Time, busy map[string]*work, carry []*store.InboxMessage) (*claimed, []*store.InboxMessage, error) {
	// Before claiming, so that those executions can be claimed in this very round.
	e.retryReleases(ctx, busy)
	if e.lostTrack {
		if err := e.o.Store.ExecutionLeaseReleaseAll(ctx, &store.ExecutionLeaseReleaseAllParams{
			Owner: e.o.Node, Except: slices.Collect(maps.Keys(busy)),
		}); err != nil {
			return nil, carry, fmt.Errorf("releasing leases this node lost track of: %w", err)
		}
		e.lostTrack = false
	}
	msgs, err := e.o.Store.InboxClaim(ctx, &store.InboxClaimParams{Now: now, ClaimUntil: now.Add(claimTTL), Limit: e.o.BatchSize})
	if err != nil {
		return nil, carry, fmt.Errorf("claiming inbox: %w", err)
	}
	due, err := e.o.Store.ExecutionClaimDue(ctx, &store.ExecutionClaimDueParams{
		Owner: e.o.Node, Now: now, ExpiresAt: now.Add(e.o.LeaseTTL), Limit: e.o.BatchSize,
	})
	if err != nil {
		e.lostTrack = true
		return nil, append(carry, msgs...), fmt.Errorf("claiming due executions: %w", err)
	}
	c := &claimed{now: now, byExec: map[string]*work{}}
	get := func(arn string) *work {
		w := c.byExec[arn]
		if w == nil {
			w = &work{}
			c.byExec[arn] = w
			c.order = append(c.order, arn)
		}
		return w
	}
	var later []*store.InboxMessage
	byArn := map[string][]*store.InboxMessage{}
	for _, m := range append(carry, msgs...) {
		if busy[m.ExecutionArn] != nil {
			later = append(later, m)
			continue
		}
		byArn[m.ExecutionArn] = append(byArn[m.ExecutionArn], m)
		w := get(m.ExecutionArn)
		w.messages = append(w.messages, m.ID)
		ev, err := decodeMessage(m.Payload)
		if err != nil {
			e.log.Error("dropping an unreadable inbox message", "execution", m.ExecutionArn, "err", err)
			continue
		}
		w.events = append(w.events, ev)
	}
	leasedDue := make(map[string]bool, len(due))
	xs := make([]*store.Execution, 0, len(due))
	for _, d := range due {
		leasedDue[d.Arn] = true
		xs = append(xs, d.Execution)
		w := get(d.Arn)
		for _, t := range d.Timers {
			w.timers = append(w.timers, t.TimerID)
			w.events = append(w.events, interp.TimerFired{TimerID: t.TimerID})
			e.o.Metrics.timerLag.observe(now.Sub(t.Due).Seconds())
		}
	}
	if len(c.order) == 0 {
		return nil, later, nil
	}
	var unleased []string
	for _, arn := range c.order {
		if !leasedDue[arn] {
			unleased = append(unleased, arn)
		}
	}
	if len(unleased) > 0 {
		got, err := e.o.Store.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{
			Owner: e.o.Node, Now: now, ExpiresAt: now.Add(e.o.LeaseTTL), Arns: unleased,
		})
		if err != nil {
			e.releaseLeases(ctx, arnsOf(xs))
			e.lostTrack = true
			return nil, later, fmt.Errorf("acquiring leases: %w", err)
		}
		xs = append(xs, got...)
		// Messages of executions leased elsewhere (another node, or a lease of this node's
		// not yet released) are carried into the next round, which tries again, rather than
		// left claimed until the claim expires.
		leased := make(map[string]bool, len(xs))
		for _, x := range xs {
			leased[x.Arn] = true
		}
		for _, arn := range unleased {
			if !leased[arn] {
				later = append(later, byArn[arn]...)
				e.o.Metrics.leasesContended.Add(1)
			}
		}
		if len(xs) == 0 {
			// Nothing to step: the loop waits its poll interval before trying again, rather
			// than spin on a lease another node holds for the length of its step.
			return nil, later, nil
		}
	}
	c.leased = xs
	e.o.Metrics.leasesTaken.Add(int64(len(xs)))
	e.leasedAgain(xs)
	return c, later, nil
}

// releaseLeases gives up leases this round cannot use, so that their timers come due again at
// once instead of when the leases expire. When the release fails too (the store is down, or
// the commit's failure was a lost connection and so is the release's), the leases are kept in
// e.unreleased and released again before the loop's next claim: left to expire, they held
// those executions' timers back for LeaseTTL (30s by default) after the store had recovered.
func (e *Engine) releaseLeases(ctx context.Context, arns []string) {
	if len(arns) == 0 {
		return
	}
	if err := e.o.Store.ExecutionLeaseRelease(context.WithoutCancel(ctx), &store.ExecutionLeaseReleaseParams{Owner: e.o.Node, Arns: arns}); err != nil {
		e.log.Warn("releasing leases failed; retrying at the next round", "executions", len(arns), "err", err)
		e.unreleasedMu.Lock()
		for _, arn := range arns {
			e.unreleased[arn] = true
		}
		e.unreleasedMu.Unlock()
	}
}

// retryReleases releases again the leases whose release failed. The executions of busy (the
// round whose commit runs) wait for a later round: releasing their leases under the commit
// would fail it, and when the commit has failed already (and its release with it) they are
// in e.unreleased and must stay there. The release is by owner, so a lease that expired and
// went to another node meanwhile stays with that node.
func (e *Engine) retryReleases(ctx context.Context, busy map[string]*work) {
	e.unreleasedMu.Lock()
	var arns []string
	for arn := range e.unreleased {
		if busy[arn] == nil {
			arns = append(arns, arn)
			delete(e.unreleased, arn)
		}
	}
	e.unreleasedMu.Unlock()
	e.releaseLeases(ctx, arns)
}

// leasedAgain forgets failed releases of leases a claim took again: they are in use now.
func (e *Engine) leasedAgain(xs []*store.Execution) {
	e.unreleasedMu.Lock()
	defer e.unreleasedMu.Unlock()
	for _, x := range xs {
		delete(e.unreleased, x.Arn)
	}
}

func (e *Engine) releaseTransitions(ctx context.Context, trs []*store.Transition) {
	arns := make([]string, len(trs))
	for i, tr := range trs {
		arns[i] = tr.ExecutionArn
	}
	e.releaseLeases(ctx, arns)
}

func arnsOf(xs []*store.Execution) []string {
	arns := make([]string, len(xs))
	for i, x := range xs {
		arns[i] = x.Arn
	}
	return arns
}

func (e *Engine) restore(ctx context.Context, ex *store.Execution) (*interp.Execution, error) {
	if def := e.cachedDefinition(ex.StateMachineArn, ex.RevisionID); def != nil {
		return interp.Restore(def, ex.State)
	}
	sm, err := e.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: ex.StateMachineArn, RevisionID: ex.RevisionID})
	if err != nil {
		return nil, err
	}
	def, err := e.Definition(sm)
	if err != nil {
		return nil, err
	}
	return interp.Restore(def, ex.State)
}

// stepped is a round's transitions, ready to commit.
type stepped struct {
	trs         []*store.Transition
	ended       []*interp.Execution
	transitions int
	// seen holds, by transition, what observe needs once the transition committed.
	seen []observed
}

// observed is one execution's step as observe takes it.
type observed struct {
	x      *interp.Execution
	open   []interp.OpenState
	events []history.Event
}

// stepped1 is what stepping one execution gave: its transition, or why it has none.
type stepped1 struct {
	tr      *store.Transition
	x       *interp.Execution
	release bool  // the execution ended before or cannot be restored: give its lease up
	err     error // an event the interpreter refused: the round fails
	n       int   // state transitions
	seen    observed
}

// stepWorkers bounds the goroutines a round's executions are stepped on; a round smaller
// than stepShare executions a worker is not worth splitting.
const stepShare = 32

// step restores the executions leased and applies their events. Executions are independent,
// so they are stepped on as many goroutines as there are processors: restoring snapshots and
// encoding the results is most of a resume's CPU time outside the store's writer, and it
// would otherwise bound, on one core, how many executions a node resumes per second.
// Executions leased by another node are not among c.leased: their claimed rows come back
// when the claims expire.
func (e *Engine) step(ctx context.Context, c *claimed) (*stepped, error) {
	byArn := make(map[string]*store.Execution, len(c.leased))
	for _, ex := range c.leased {
		byArn[ex.Arn] = ex
	}
	out := make([]stepped1, len(c.order))
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1)) - 1; i < len(c.order); i = int(next.Add(1)) - 1 {
			if ex := byArn[c.order[i]]; ex != nil {
				out[i] = e.stepOne(ctx, c, ex)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(c.order)/stepShare+1) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	st := &stepped{}
	var release []string
	var failed error
	for i := range out {
		o := &out[i]
		switch {
		case o.err != nil:
			failed = cmp.Or(failed, o.err)
		case o.release:
			release = append(release, c.order[i])
		case o.tr != nil:
			st.trs = append(st.trs, o.tr)
			st.seen = append(st.seen, o.seen)
			st.transitions += o.n
			if o.x.Status != interp.Running {
				st.ended = append(st.ended, o.x)
			}
		}
	}
	if failed != nil {
		e.releaseLeases(ctx, arnsOf(c.leased))
		return nil, failed
	}
	if len(release) > 0 {
		if err := e.o.Store.ExecutionLeaseRelease(ctx, &store.ExecutionLeaseReleaseParams{Owner: e.o.Node, Arns: release}); err != nil {
			e.releaseLeases(ctx, arnsOf(c.leased))
			return nil, fmt.Errorf("releasing leases: %w", err)
		}
	}
	return st, nil
}

// stepOne restores one leased execution and applies its events.
func (e *Engine) stepOne(ctx context.Context, c *claimed, ex *store.Execution) stepped1 {
	if ex.Status.Terminal() {
		return stepped1{release: true}
	}
	x, err := e.restore(ctx, ex)
	if err != nil {
		e.log.Error("cannot restore an execution", "execution", ex.Arn, "err", err)
		return stepped1{release: true}
	}
	var open []interp.OpenState
	if e.o.Tracer != nil {
		open = x.OpenStates(nil)
	}
	w := c.byExec[ex.Arn]
	tr := &store.Transition{ExecutionArn: ex.Arn, LeaseOwner: e.o.Node, Version: ex.Version, ReleaseLease: true}
	var all interp.Result
	for _, ev := range w.events {
		if x.Status != interp.Running {
			break
		}
		res, err := interp.Step(x, ev, c.now)
		if err != nil {
			return stepped1{err: fmt.Errorf("stepping %s: %w", ex.Arn, err)}
		}
		all.Events = append(all.Events, res.Events...)
		all.Effects = append(all.Effects, res.Effects...)
		all.Children = append(all.Children, res.Children...)
	}
	if err := e.record(x, all, c.now, tr, w.timers); err != nil {
		return stepped1{err: err}
	}
	tr.InboxDelete = w.messages
	if x.Status != interp.Running {
		e.finishTransition(x, tr, c.now)
	}
	return stepped1{tr: tr, x: x, n: countTransitions(all), seen: observed{x: x, open: open, events: all.Events}}
}

// commit commits a round's transitions together.
func (e *Engine) commit(ctx context.Context, st *stepped) error {
	trs := st.trs
	start := time.Now()
	errs, err := e.o.Store.TransitionCommitBatch(ctx, &store.TransitionCommitBatchParams{Transitions: trs})
	e.o.Metrics.commitLatency.observe(time.Since(start).Seconds())
	e.o.Metrics.commitBatch.observe(float64(len(trs)))
	if err != nil {
		// Nothing was written: the timers are due again once the leases go, and the inbox
		// messages come back when their claims expire.
		e.releaseTransitions(ctx, trs)
		return fmt.Errorf("committing %d transitions: %w", len(trs), err)
	}
	e.o.Metrics.transitions.Add(int64(st.transitions))
	var failed []*store.Transition
	for i, tr := range trs {
		if errs[i] != nil {
			// Another node moved the execution on; its events come back when the claims expire.
			e.log.Warn("transition not applied", "execution", tr.ExecutionArn, "err", errs[i])
			failed = append(failed, tr)
			continue
		}
		o := &st.seen[i]
		e.observe(&o.x.ID, o.open, o.events)
	}
	e.releaseTransitions(ctx, failed)
	e.logCommitted(ctx, trs, errs)
	for _, x := range st.ended {
		e.o.Metrics.finished(string(x.Status))
		if !slices.ContainsFunc(failed, func(tr *store.Transition) bool { return tr.ExecutionArn == x.ID.ExecutionArn }) {
			e.statusChanged(x, false) // only what was committed
		}
	}
	return nil
}

// dispatch claims outbox effects and starts them. It returns how many it started.
func (e *Engine) dispatch(ctx context.Context, now time.Time) (int, error) {
	effects, err := e.o.Store.EffectClaim(ctx, &store.EffectClaimParams{Now: now, ClaimUntil: now.Add(e.o.TaskClaimTTL), Limit: e.o.BatchSize})
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
			Parameters: string(t.Parameters), TimeoutSeconds: t.TimeoutSeconds, HeartbeatSeconds: t.HeartbeatSeconds, Token: t.Token,
			TestCase: t.TestCase, Invocation: t.Invocation, TraceParent: t.TraceParent}
		e.o.Metrics.dispatchLatency.observe(now.Sub(ef.CreatedAt).Seconds())
		if isActivity(t.Resource) {
			if err := e.enqueueActivity(ctx, now, task); err != nil {
				return 0, err
			}
			continue
		}
		key := task.ExecutionArn + "/" + task.TaskID
		e.runningMu.Lock()
		already := e.running[key]
		e.running[key] = true
		e.runningMu.Unlock()
		if already {
			continue // still running here; its renewals go on
		}
		e.runners.Add(1)
		go func() {
			defer e.runners.Done()
			defer func() {
				e.runningMu.Lock()
				delete(e.running, key)
				e.runningMu.Unlock()
			}()
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

// runTask runs a task with the Runner and queues its result for the execution. The task's
// claim is renewed while it runs. When the engine stops (ctx is done) the result is not
// recorded: the task is abandoned to its claim's expiry, after which a node runs it again,
// as it would had this node died.
func (e *Engine) runTask(ctx context.Context, t *Task) {
	if t.HeartbeatSeconds > 0 {
		// The heartbeat timer counts from the start; other tasks are recorded started with
		// their result, which saves a write and a step.
		e.queue(ctx, t, &message{Kind: msgTaskStarted, TaskID: t.TaskID}, "")
		e.poke()
	}
	t.submit = func(output string) {
		e.queue(ctx, t, &message{Kind: msgTaskSubmitted, TaskID: t.TaskID, Output: output}, "")
		e.poke()
	}
	renewing, stopRenewing := context.WithCancel(ctx)
	renewed := make(chan struct{})
	// A group of Map Run children stops when its parent withdraws it (the Map failed or was
	// aborted): the children are aborted, as AWS aborts them, rather than left to call
	// functions for a parent that records nothing more of them.
	work, withdraw := context.WithCancel(ctx)
	defer withdraw()
	go func() {
		defer close(renewed)
		if e.renewClaim(renewing, t) && t.Resource == interp.MapChildrenResource {
			withdraw()
		}
	}()
	var out string
	var err error
	switch {
	case t.Resource == interp.MapChildrenResource:
		out, err = e.runMapChildren(work, t)
	case e.o.Runner == nil:
		err = &TaskError{Name: "States.TaskFailed", Cause: "no task runner is configured for resource " + t.Resource}
	default:
		out, err = e.o.Runner.Run(ctx, t)
	}
	stopRenewing()
	<-renewed
	if ctx.Err() != nil || work.Err() != nil {
		return // the engine stops (the task runs again elsewhere), or nobody wants the result
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

// renewClaim pushes a running task's claim one TaskClaimTTL ahead every third of it until ctx
// is done. A renewal that fails is tried again at the next tick: two more chances before the
// claim lapses and another node may run the task too (which at-least-once allows). It
// reports true when the task's effect is gone: its execution withdrew it (or ended).
func (e *Engine) renewClaim(ctx context.Context, t *Task) (withdrawn bool) {
	tick := time.NewTicker(e.o.TaskClaimTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		err := e.o.Store.EffectClaimExtend(ctx, &store.EffectClaimExtendParams{
			ExecutionArn: t.ExecutionArn, EffectID: t.TaskID, Until: e.o.Clock.Now().Add(e.o.TaskClaimTTL),
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return true
		case err != nil && ctx.Err() == nil:
			e.log.Warn("renewing a task's claim", "execution", t.ExecutionArn, "task", t.TaskID, "err", err)
		}
	}
}

// queue appends msg to the task's execution's inbox, removing the effect effectID (when not "")
// in the same transaction. queued reports the message recorded; ok is false when it could not
// be, and a message for an execution that ended (stopped, timed out, deleted) is dropped
// quietly (queued false, ok true): AWS too lets such an invocation finish and ignores its result.
func (e *Engine) queue(ctx context.Context, t *Task, msg *message, effectID string) (queued, ok bool) {
	_, err := e.o.Store.InboxAppend(context.WithoutCancel(ctx), &store.InboxAppendParams{ExecutionArn: t.ExecutionArn,
		Payload: encodeMessage(*msg), Now: e.o.Clock.Now(), EffectID: effectID})
	switch {
	case err == nil:
		return true, true
	case errors.Is(err, store.ErrExecutionNotRunning), errors.Is(err, store.ErrNotFound):
		return false, true
	}
	e.log.Error("recording a task result", "execution", t.ExecutionArn, "task", t.TaskID, "err", err)
	return false, false
}

// finishEffect queues a task's result and removes its effect from the outbox, in one
// transaction; a result that finds its execution ended only removes the effect.
func (e *Engine) finishEffect(ctx context.Context, t *Task, msg *message) {
	ctx = context.WithoutCancel(ctx)
	if msg != nil {
		queued, ok := e.queue(ctx, t, msg, t.TaskID)
		if !ok {
			return
		}
		if queued {
			// A group's outcomes wait for any node's next poll rather than this node's: the
			// node that steps the parent dispatches its next groups, and one that always
			// stepped the outcomes of its own groups would keep a Map Run's children.
			if t.Resource != interp.MapChildrenResource {
				e.poke()
			}
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
