// Package engine runs executions durably: it drives the pure interpreter (package interp) with
// events from the store (timers that came due, task results, stop requests) and commits each
// step's new state, history events, timers and effects in one transaction before carrying the
// effects out.
//
// A node leases an execution only while it steps it: it acquires the lease, restores the
// execution from its snapshot, steps it, and commits the step with the lease's release. So a
// waiting execution costs no memory, any node can take its next event, and the lease of a node
// that died mid-step simply expires. Steps of many executions are grouped into one commit (see
// loop.go), which is what makes durable executions fast on SQLite's single writer.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/telemetry"
)

// Options configure an Engine.
type Options struct {
	Store store.Store
	// ExecutionLogs, when set, is given every execution's committed history events, for the
	// execution logs of state machines with a loggingConfiguration; nil logs nothing.
	ExecutionLogs ExecutionLogger
	// Clock defaults to the real clock.
	Clock clock.Clock
	// Node names this engine in leases; it must differ between nodes sharing a database.
	Node string
	// Account and Region make ARNs.
	Account string
	Region  string
	// WaitScale multiplies every duration an execution waits on (Wait states, retry intervals,
	// timeouts); 0 fires timers at once.
	WaitScale float64
	// Runner carries out Task states other than activities; nil fails them with a clear error.
	Runner Runner
	// LeaseTTL bounds how long a node may take to step an execution (default 30s): the lease of a
	// node that died mid-step expires after it, and the execution's events go to another node.
	LeaseTTL time.Duration
	// PollInterval is how often the store is asked for due timers and messages (default 50ms).
	PollInterval time.Duration
	// TaskClaimTTL is how long a dispatched task stays hidden from other nodes (default 30s).
	// The node running it renews the claim every third of it for as long as the task runs
	// (a Lambda task may take 15 minutes), so only the task of a node that died comes back,
	// to any node, about TaskClaimTTL after its last renewal.
	TaskClaimTTL time.Duration
	// BatchSize caps the executions stepped in one commit (default 512).
	BatchSize int
	// Retention is how long an execution is kept after it ended (default 90 days, as AWS keeps
	// them; negative keeps them forever). Its name can be used again once it is gone.
	Retention time.Duration
	// SweepInterval is how often executions past Retention are deleted (default a minute).
	SweepInterval time.Duration
	Logger        *slog.Logger
	Metrics       *Metrics
	// StatusObserver, when set, is told of Standard executions' status changes once committed
	// (EventBridge's status-change events); nil tells nobody.
	StatusObserver StatusObserver
	// JSONataMemory bounds the memory of each JSONata evaluation (asl.ParseOptions).
	JSONataMemory int64
	// Tracer, when set, exports executions as OpenTelemetry traces (package telemetry); nil
	// traces nothing and gathers nothing for it.
	Tracer *telemetry.Tracer
}

// Task is a Task state's work handed to a Runner.
type Task struct {
	ExecutionArn     string
	TaskID           string // unique within the execution; the same if the task is dispatched again after a crash
	StateName        string
	Resource         string
	Parameters       string // JSON text
	TimeoutSeconds   int64
	HeartbeatSeconds int64
	Token            string
	// TestCase is the Step Functions Local mock test case the execution runs under, nil for
	// an ordinary one; Invocation numbers this invocation of the state's task among the
	// execution's, from 0 (see interp.ScheduleTask). The Runner answers mocked states.
	TestCase   *interp.TestCase
	Invocation int64
	// TraceParent is the W3C traceparent of the task's span when the execution is traced:
	// what the task hands on to a Lambda function or a child execution. "" otherwise.
	TraceParent string

	// submit records a submission as it happens (the durable engine); without it Submitted
	// keeps the submission to go with the result (in-process runs).
	submit    func(output string)
	submitted *string
}

// Submitted reports that the task handed its work off, with the submission's output (JSON
// text): a .sync task that started its child. The execution records TaskSubmitted, once,
// before the task's result. A Runner calls it at most once per Run, from Run's goroutine.
func (t *Task) Submitted(output string) {
	if t.submit != nil {
		t.submit(output)
		return
	}
	t.submitted = &output
}

// TaskError is a task's failure: the error name Retry and Catch match, and a cause.
type TaskError struct {
	Name  string
	Cause string
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// Runner carries out tasks. Run returns the task's output (JSON text) or a *TaskError; any other
// error is reported as States.TaskFailed. A task that completes through a task token
// (.waitForTaskToken) returns ErrCallback once it was handed off.
type Runner interface {
	Run(ctx context.Context, t *Task) (string, error)
}

// ErrCallback tells the engine that a task will report its result through its task token.
var ErrCallback = errors.New("task completes through its task token")

// Errors of the engine's operations.
var (
	ErrExecutionExists = errors.New("execution already exists")
	ErrNotRunning      = errors.New("execution is not running")
	ErrInvalidToken    = errors.New("invalid task token")
)

// Engine runs executions. Create it with New, then Start it.
type Engine struct {
	o   Options
	log *slog.Logger

	defsMu sync.Mutex
	defs   map[string]*asl.StateMachine // by revisionKey

	// unreleased holds the executions whose lease release failed, to release again (see
	// releaseLeases).
	unreleasedMu sync.Mutex
	unreleased   map[string]bool
	// lostTrack is set when this node may hold leases it does not know of: at start (a
	// previous process under the same name may have died holding some), and after a claim
	// failed (its answer may have been lost after the leases were taken). Only the loop
	// touches it.
	lostTrack bool

	wake    chan struct{}
	creates chan *createRequest
	stop    context.CancelFunc
	done    chan struct{}
	runners sync.WaitGroup
	// running holds the tasks (execution ARN "/" task id) this node's runners carry out: an
	// effect whose claim lapsed while its task still runs here (the store refused renewals) is
	// not started a second time by this node when it claims it again.
	runningMu sync.Mutex
	running   map[string]bool
}

// createRequest is one StartExecution waiting for the group commit of new executions.
type createRequest struct {
	p    *store.ExecutionCreateParams
	done chan error
}

// New checks the options and returns a stopped engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("engine: Options.Store is required")
	}
	if o.Node == "" {
		return nil, errors.New("engine: Options.Node is required")
	}
	if o.WaitScale < 0 {
		return nil, errors.New("engine: Options.WaitScale must not be negative")
	}
	if o.TaskClaimTTL < 0 {
		return nil, errors.New("engine: Options.TaskClaimTTL must not be negative")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.BatchSize == 0 {
		o.BatchSize = 512
	}
	if o.TaskClaimTTL == 0 {
		o.TaskClaimTTL = defaultTaskClaimTTL
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	return &Engine{
		o: o, log: o.Logger, defs: map[string]*asl.StateMachine{}, unreleased: map[string]bool{}, lostTrack: true, wake: make(chan struct{}, 1),
		creates: make(chan *createRequest, o.BatchSize), running: map[string]bool{},
	}, nil
}

// Metrics returns the engine's counters for /metrics.
func (e *Engine) Metrics() *Metrics { return e.o.Metrics }

// Start runs the engine's loop in the background until Stop.
func (e *Engine) Start(ctx context.Context) error {
	if e.stop != nil {
		return errors.New("engine: already started")
	}
	ctx, e.stop = context.WithCancel(context.WithoutCancel(ctx))
	e.done = make(chan struct{})
	var loops sync.WaitGroup
	loops.Go(func() { e.loop(ctx) })
	loops.Go(func() { e.createLoop(ctx) })
	if e.o.Retention > 0 {
		loops.Go(func() { e.sweepLoop(ctx) })
	}
	go func() {
		loops.Wait()
		close(e.done)
	}()
	return nil
}

// createLoop is the group commit of StartExecution: it creates every execution that queued up
// while the previous batch was being committed in one transaction.
func (e *Engine) createLoop(ctx context.Context) {
	for {
		var batch []*createRequest
		select {
		case <-ctx.Done():
			return
		case r := <-e.creates:
			batch = append(batch, r)
		}
	more:
		for len(batch) < e.o.BatchSize {
			select {
			case r := <-e.creates:
				batch = append(batch, r)
			default:
				break more
			}
		}
		e.createBatch(ctx, batch)
	}
}

func (e *Engine) createBatch(ctx context.Context, batch []*createRequest) {
	params := make([]*store.ExecutionCreateParams, len(batch))
	for i, r := range batch {
		params[i] = r.p
	}
	start := time.Now()
	errs, err := e.o.Store.ExecutionCreateBatch(ctx, &store.ExecutionCreateBatchParams{Executions: params})
	e.o.Metrics.commitLatency.observe(time.Since(start).Seconds())
	e.o.Metrics.commitBatch.observe(float64(len(batch)))
	if err != nil && len(batch) > 1 {
		// One bad execution must not fail the others: create them one by one.
		for _, r := range batch {
			e.createBatch(ctx, []*createRequest{r})
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

// create commits a new execution through the group commit, or directly when the engine is
// not running.
func (e *Engine) create(ctx context.Context, p *store.ExecutionCreateParams) error {
	if e.stop == nil {
		errs, err := e.o.Store.ExecutionCreateBatch(ctx, &store.ExecutionCreateBatchParams{Executions: []*store.ExecutionCreateParams{p}})
		if err != nil {
			return err
		}
		return errs[0]
	}
	r := &createRequest{p: p, done: make(chan error, 1)}
	select {
	case e.creates <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return errors.New("engine: stopped")
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The batch may still commit it; the execution then simply runs.
		return ctx.Err()
	case <-e.done:
		return errors.New("engine: stopped")
	}
}

// Stop ends the loop, cancels the context of running tasks and waits for their runners to
// return. Their results are not recorded: like the tasks of a node that died, they run again,
// on whichever node claims them once their claims lapse (Options.TaskClaimTTL). Calling it
// again does nothing.
func (e *Engine) Stop(ctx context.Context) error {
	if e.stop == nil {
		return nil
	}
	e.stop()
	select {
	case <-e.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.runners.Wait()
	e.stop = nil
	return nil
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Definition returns the parsed definition of a state machine revision, parsing it once.
func (e *Engine) Definition(sm *store.StateMachine) (*asl.StateMachine, error) {
	if def := e.cachedDefinition(sm.Arn, sm.RevisionID); def != nil {
		return def, nil
	}
	typ := asl.Standard
	if sm.Type == store.StateMachineExpress {
		typ = asl.Express
	}
	def, err := asl.Parse([]byte(sm.Definition), asl.ParseOptions{Type: typ, JSONataMemory: e.o.JSONataMemory})
	if err != nil {
		return nil, fmt.Errorf("engine: definition of %s (revision %s): %w", sm.Arn, sm.RevisionID, err)
	}
	e.defsMu.Lock()
	e.defs[revisionKey(sm.Arn, sm.RevisionID)] = def
	e.defsMu.Unlock()
	return def, nil
}

// cachedDefinition returns a revision's parsed definition if it was parsed before. Revisions
// never change, so the cache needs no invalidation.
func (e *Engine) cachedDefinition(arn, revision string) *asl.StateMachine {
	e.defsMu.Lock()
	defer e.defsMu.Unlock()
	return e.defs[revisionKey(arn, revision)]
}

func revisionKey(arn, revision string) string { return arn + "\x00" + revision }

// StartParams start an execution.
type StartParams struct {
	StateMachine *store.StateMachine // the revision to pin
	Name         string
	Input        string
	// VersionArn and AliasArn name the version (and the alias that chose it) the execution is
	// started through, if any.
	VersionArn string
	AliasArn   string
	// TestCase, when set, runs the execution under a Step Functions Local mock test case of
	// the state machine (StartExecution on stateMachineArn#TestCase). It is kept in the
	// execution's state, so every node and a restarted one run its tasks under it.
	TestCase *interp.TestCase
	// TraceParent is the W3C traceparent the execution continues (a parent execution's task
	// span), kept with the execution so that every node traces it in that trace.
	TraceParent string
}

// StartExecution creates an execution and runs it as far as it goes without waiting, in the
// same transaction that creates it. A name already used under the state machine gives an error
// matching ErrExecutionExists together with the existing execution.
func (e *Engine) StartExecution(ctx context.Context, p StartParams) (*store.Execution, error) {
	sm := p.StateMachine
	def, err := e.Definition(sm)
	if err != nil {
		return nil, err
	}
	now := e.o.Clock.Now().UTC().Truncate(time.Millisecond)
	id := interp.Identity{
		ExecutionArn:     e.ExecutionArn(sm.Name, p.Name),
		Name:             p.Name,
		StateMachineArn:  sm.Arn,
		StateMachineName: sm.Name,
		RoleArn:          sm.RoleArn,
		Region:           e.o.Region,
		Account:          e.o.Account,
		StartTime:        now,

		StateMachineVersionArn: p.VersionArn,
		StateMachineAliasArn:   p.AliasArn,
		TestCase:               p.TestCase,
		TraceParent:            p.TraceParent,
		// Any node may run a Map Run's EXPRESS children (mapchildren.go).
		ChildrenAsTasks: true,
	}
	x, res, err := interp.Start(def, id, p.Input, now)
	if err != nil {
		return nil, err
	}
	tr := &store.Transition{}
	if err := e.record(x, res, now, tr, nil); err != nil {
		return nil, err
	}
	cp := &store.ExecutionCreateParams{
		Arn: id.ExecutionArn, StateMachineArn: sm.Arn, RevisionID: sm.RevisionID, Name: p.Name,
		Type: sm.Type, Input: p.Input, StartDate: now, State: tr.State, Mutations: tr.Mutations,
		VersionArn: p.VersionArn, AliasArn: p.AliasArn,
	}
	if x.Status != interp.Running {
		e.finishTransition(x, tr, now)
		cp.Status, cp.Output, cp.Error, cp.Cause, cp.StopDate = tr.Status, tr.Output, tr.Error, tr.Cause, tr.StopDate
	}
	err = e.create(ctx, cp)
	if errors.Is(err, store.ErrExecutionAlreadyExists) {
		existing, gerr := e.o.Store.ExecutionGetByName(ctx, &store.ExecutionGetByNameParams{StateMachineArn: sm.Arn, Name: p.Name})
		if gerr != nil {
			return nil, fmt.Errorf("engine: %w: %w", ErrExecutionExists, gerr)
		}
		return existing, fmt.Errorf("engine: %w: %s", ErrExecutionExists, existing.Arn)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: creating execution: %w", err)
	}
	e.o.Metrics.started.Add(1)
	e.o.Metrics.byMachine.started(sm.Arn)
	e.observe(&x.ID, nil, res.Events)
	e.statusChanged(x, true)
	e.o.Metrics.transitions.Add(int64(countTransitions(res)))
	if x.Status != interp.Running {
		e.o.Metrics.finished(string(x.Status))
	} else {
		e.poke()
	}
	e.logEvents(ctx, sm, &x.ID, res.Events, res.Children)
	return &store.Execution{
		Arn: cp.Arn, StateMachineArn: cp.StateMachineArn, RevisionID: cp.RevisionID, Name: cp.Name, Type: cp.Type,
		Status: cp.InitialStatus(), Input: cp.Input, Output: cp.Output, Error: cp.Error, Cause: cp.Cause,
		StartDate: now, StopDate: cp.StopDate, Version: 1,
	}, nil
}

// ExecutionArn returns the ARN of a standard execution.
func (e *Engine) ExecutionArn(stateMachine, name string) string {
	return "arn:aws:states:" + e.o.Region + ":" + e.o.Account + ":execution:" + stateMachine + ":" + name
}

// StopExecution aborts a running execution. The abort is recorded by the node that holds the
// execution, so it takes effect within a poll interval.
func (e *Engine) StopExecution(ctx context.Context, arn string, errName, cause *string) error {
	return e.sendStop(ctx, arn, message{Kind: msgStop, Error: errName, Cause: cause})
}

// StopChildExecution asks the execution arn to stop its Map Run child execution child; the
// child is aborted the next time the execution steps, as StopExecution's execution is.
func (e *Engine) StopChildExecution(ctx context.Context, arn, child string, errName, cause *string) error {
	return e.sendStop(ctx, arn, message{Kind: msgStop, Error: errName, Cause: cause, Child: child})
}

func (e *Engine) sendStop(ctx context.Context, arn string, m message) error {
	_, err := e.o.Store.InboxAppend(ctx, &store.InboxAppendParams{ExecutionArn: arn, Payload: encodeMessage(m), Now: e.o.Clock.Now()})
	if errors.Is(err, store.ErrExecutionNotRunning) {
		return fmt.Errorf("engine: %w: %s", ErrNotRunning, arn)
	}
	if err != nil {
		return fmt.Errorf("engine: stopping %s: %w", arn, err)
	}
	e.poke()
	return nil
}

// SendTaskSuccess completes the task holding token with output (JSON text).
func (e *Engine) SendTaskSuccess(ctx context.Context, token, output string) error {
	return e.closeToken(ctx, token, func(taskID string) message {
		return message{Kind: msgTaskSucceeded, TaskID: taskID, Output: output}
	})
}

// SendTaskFailure fails the task holding token.
func (e *Engine) SendTaskFailure(ctx context.Context, token string, errName, cause *string) error {
	return e.closeToken(ctx, token, func(taskID string) message {
		return message{Kind: msgTaskFailed, TaskID: taskID, Error: errName, Cause: cause}
	})
}

// SendTaskHeartbeat records that the task holding token is alive.
func (e *Engine) SendTaskHeartbeat(ctx context.Context, token string) error {
	tok, err := e.o.Store.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: token})
	if err != nil {
		return e.tokenError(err)
	}
	_, err = e.o.Store.InboxAppend(ctx, &store.InboxAppendParams{
		ExecutionArn: tok.ExecutionArn, Payload: encodeMessage(message{Kind: msgTaskHeartbeat, TaskID: tok.TaskID}), Now: e.o.Clock.Now(),
	})
	if err != nil {
		return e.tokenError(err)
	}
	e.poke()
	return nil
}

func (e *Engine) closeToken(ctx context.Context, token string, msg func(taskID string) message) error {
	tok, err := e.o.Store.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: token})
	if err != nil {
		return e.tokenError(err)
	}
	_, err = e.o.Store.TaskTokenClose(ctx, &store.TaskTokenCloseParams{Token: token, Payload: encodeMessage(msg(tok.TaskID)), Now: e.o.Clock.Now()})
	if err != nil {
		return e.tokenError(err)
	}
	e.poke()
	return nil
}

// tokenError keeps the store's reason with ErrInvalidToken: a token never issued
// (store.ErrNotFound) and one whose task ended (store.ErrTaskTokenClosed, or its execution no
// longer running) are different errors on AWS.
func (e *Engine) tokenError(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrTaskTokenClosed) || errors.Is(err, store.ErrExecutionNotRunning) {
		return fmt.Errorf("engine: %w: %w", ErrInvalidToken, err)
	}
	return fmt.Errorf("engine: task token: %w", err)
}

// record turns one step's result into the store's mutations on tr: encoded events, scaled
// timers, outbox effects and task tokens, and the new snapshot. consumed lists the timers the
// step used up.
func (e *Engine) record(x *interp.Execution, res interp.Result, now time.Time, tr *store.Transition, consumed []string) error {
	m := &tr.Mutations
	m.Now = now
	buf := make([]byte, 0, 512)
	m.Events, buf = encodeEvents(m.Events, res.Events, buf)
	for _, c := range res.Children {
		h := &store.ChildHistory{ExecutionArn: c.ExecutionArn, Key: c.Key}
		h.Events, buf = encodeEvents(nil, c.Events, buf)
		m.Children = append(m.Children, h)
	}
	m.TimersDelete = append(m.TimersDelete, consumed...)
	for _, ef := range res.Effects {
		switch ef := ef.(type) {
		case interp.StartTimer:
			due := ef.Due
			if !ef.Quota {
				due = e.scale(now, due)
			}
			m.TimersInsert = append(m.TimersInsert, &store.TimerInsert{TimerID: ef.TimerID, Due: due})
		case interp.CancelTimer:
			m.TimersDelete = append(m.TimersDelete, ef.TimerID)
		case interp.ScheduleTask:
			var traceParent string
			if e.o.Tracer != nil {
				traceParent = e.o.Tracer.TaskParent(&x.ID, ef.TaskID)
			}
			m.EffectsInsert = append(m.EffectsInsert, &store.EffectInsert{
				EffectID: ef.TaskID, Kind: effectTask, IdempotencyKey: x.ID.ExecutionArn + "/" + ef.TaskID, Payload: encodeTask(ef, traceParent),
			})
			if ef.Token != "" {
				m.TaskTokensInsert = append(m.TaskTokensInsert, &store.TaskTokenInsert{Token: ef.Token, TaskID: ef.TaskID})
			}
		case interp.CancelTask:
			m.EffectsDelete = append(m.EffectsDelete, ef.TaskID)
			if ef.Token != "" {
				// SendTask* with it answers TaskTimedOut now, and no worker gets its activity task.
				m.TaskTokensDelete = append(m.TaskTokensDelete, ef.Token)
			}
		}
	}
	cancelWithinStep(m)
	snap, err := x.Snapshot()
	if err != nil {
		return fmt.Errorf("engine: snapshot of %s: %w", x.ID.ExecutionArn, err)
	}
	tr.State = snap
	tr.Status = store.ExecutionStatus(x.Status)
	return nil
}

// eventArena caps the size of the buffers that encoded events share. A step that records many
// events (a Map Run's children) fills several, each twice the last: a new one is started
// rather than the full one grown, which would copy every payload encoded so far.
const eventArena = 64 << 10

// encodeEvents appends events to out as the store keeps them, their payloads sharing buf.
func encodeEvents(out []*store.HistoryEvent, events []history.Event, buf []byte) ([]*store.HistoryEvent, []byte) {
	for i := range events {
		ev := &events[i]
		if cap(buf)-len(buf) < 512 {
			buf = make([]byte, 0, min(eventArena, max(2*cap(buf), 1024)))
		}
		start := len(buf)
		buf = ev.AppendJSON(buf, true)
		out = append(out, &store.HistoryEvent{ID: ev.ID, Type: ev.Type, Timestamp: ev.Timestamp, Payload: buf[start:len(buf):len(buf)]})
	}
	return out, buf
}

// cancelWithinStep drops timers and tasks that a step both started and cancelled (a Map that
// failed fast, a burst that ended the execution): they never need to reach the store.
func cancelWithinStep(m *store.Mutations) {
	inserted := map[string]bool{}
	for _, t := range m.TimersInsert {
		inserted[t.TimerID] = true
	}
	gone := map[string]bool{}
	m.TimersDelete = slices.DeleteFunc(m.TimersDelete, func(id string) bool {
		gone[id] = inserted[id]
		return inserted[id]
	})
	m.TimersInsert = slices.DeleteFunc(m.TimersInsert, func(t *store.TimerInsert) bool { return gone[t.TimerID] })
	scheduled := map[string]bool{}
	for _, ef := range m.EffectsInsert {
		scheduled[ef.EffectID] = true
	}
	cancelled := map[string]bool{}
	m.EffectsDelete = slices.DeleteFunc(m.EffectsDelete, func(id string) bool {
		cancelled[id] = scheduled[id]
		return scheduled[id]
	})
	m.EffectsInsert = slices.DeleteFunc(m.EffectsInsert, func(ef *store.EffectInsert) bool { return cancelled[ef.EffectID] })
	dropped := map[string]bool{}
	m.TaskTokensInsert = slices.DeleteFunc(m.TaskTokensInsert, func(t *store.TaskTokenInsert) bool {
		dropped[t.Token] = cancelled[t.TaskID]
		return cancelled[t.TaskID]
	})
	m.TaskTokensDelete = slices.DeleteFunc(m.TaskTokensDelete, func(tok string) bool { return dropped[tok] })
}

// finishTransition fills in the outcome of an execution that ended.
func (e *Engine) finishTransition(x *interp.Execution, tr *store.Transition, now time.Time) {
	tr.Status = store.ExecutionStatus(x.Status)
	tr.Output, tr.Error, tr.Cause = x.Output, x.Error, x.Cause
	stop := now
	tr.StopDate = &stop
}

// scale maps an interpreter due time onto the wall clock by WaitScale. The one-year quota
// (interp.MaxDuration) is not scaled: it bounds how long an execution holds the server's
// rows on the wall clock, not a duration of the definition, and scaled by 0 it would time
// every execution out at once.
func (e *Engine) scale(now, due time.Time) time.Time {
	if e.o.WaitScale == 1 {
		return due
	}
	return now.Add(time.Duration(float64(due.Sub(now)) * e.o.WaitScale))
}

// observe counts one committed step's events in the AWS/States metrics and, when tracing,
// makes the spans they end. open is what the execution's OpenStates said before the step.
func (e *Engine) observe(id *interp.Identity, open []interp.OpenState, events []history.Event) {
	e.o.Metrics.byMachine.count(id.StateMachineArn, id.StartTime, events)
	e.o.Tracer.Record(id, open, events)
}

// countTransitions counts the states a step entered, in the execution and in its Map Run
// child executions.
func countTransitions(res interp.Result) int {
	n := 0
	count := func(events []history.Event) {
		for i := range events {
			if strings.HasSuffix(events[i].Type, "StateEntered") {
				n++
			}
		}
	}
	count(res.Events)
	for _, c := range res.Children {
		count(c.Events)
	}
	return n
}

// resourceKindOf returns the resource type of an ARN ("activity", "function", …), or "".
func resourceKindOf(arn string) string {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 6 {
		return ""
	}
	return parts[5]
}

// ActivityTask is a task handed to an activity worker.
type ActivityTask struct {
	Token string
	Input string
}

// GetActivityTask hands the oldest waiting task of an activity to a worker and records that the
// task started. It returns nil when none is waiting; the API layer long-polls.
func (e *Engine) GetActivityTask(ctx context.Context, activityArn, worker string) (*ActivityTask, error) {
	now := e.o.Clock.Now()
	t, err := e.o.Store.ActivityTaskClaim(ctx, &store.ActivityTaskClaimParams{ActivityArn: activityArn, WorkerName: worker, Now: now})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: claiming an activity task: %w", err)
	}
	tok, err := e.o.Store.TaskTokenGet(ctx, &store.TaskTokenGetParams{Token: t.Token})
	if err != nil {
		return nil, fmt.Errorf("engine: activity task token: %w", err)
	}
	_, err = e.o.Store.InboxAppend(ctx, &store.InboxAppendParams{
		ExecutionArn: t.ExecutionArn, Payload: encodeMessage(message{Kind: msgTaskStarted, TaskID: tok.TaskID, WorkerName: worker}), Now: now,
	})
	if err != nil && !errors.Is(err, store.ErrExecutionNotRunning) {
		return nil, fmt.Errorf("engine: recording an activity start: %w", err)
	}
	e.poke()
	return &ActivityTask{Token: t.Token, Input: t.Input}, nil
}
