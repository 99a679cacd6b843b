package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// blockingRunner records each task it is given and holds it until release is closed (then it
// answers output) or its ctx is done, as a long Lambda invocation would.
type blockingRunner struct {
	output   string
	release  chan struct{}
	started  chan string // task ids, as they start
	returned atomic.Int64
	mu       sync.Mutex
	calls    []string
}

func newBlockingRunner(output string) *blockingRunner {
	return &blockingRunner{output: output, release: make(chan struct{}), started: make(chan string, 16)}
}

func (r *blockingRunner) Run(ctx context.Context, t *engine.Task) (string, error) {
	defer r.returned.Add(1)
	r.mu.Lock()
	r.calls = append(r.calls, t.TaskID)
	r.mu.Unlock()
	r.started <- t.TaskID
	select {
	case <-r.release:
		return r.output, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (r *blockingRunner) taskIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// countingStore counts the renewals of task claims and the deletions of effects.
type countingStore struct {
	store.Store
	extends, deletes atomic.Int64
}

func (s *countingStore) EffectClaimExtend(ctx context.Context, p *store.EffectClaimExtendParams) error {
	err := s.Store.EffectClaimExtend(ctx, p)
	if err == nil {
		s.extends.Add(1)
	}
	return err
}

func (s *countingStore) EffectDelete(ctx context.Context, p *store.EffectDeleteParams) error {
	err := s.Store.EffectDelete(ctx, p)
	s.deletes.Add(1)
	return err
}

// errorLog counts the records logged at level Error.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

const lambdaMachine = `{"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`

// claimTTL is short, so that the tests see claims lapse; renewals come every third of it.
const claimTTL = 600 * time.Millisecond

func awaitStart(t *testing.T, rs ...*blockingRunner) string {
	t.Helper()
	cases := make(chan string, len(rs))
	for _, r := range rs {
		go func() {
			select {
			case id := <-r.started:
				cases <- id
			case <-time.After(20 * time.Second):
			}
		}()
	}
	select {
	case id := <-cases:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("no task started")
		return ""
	}
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func eventTypes(t *testing.T, s store.Store, arn string) string {
	var types []string
	for _, ev := range checkHistory(t, s, arn) {
		types = append(types, ev.Type)
	}
	return strings.Join(types, " ")
}

// TestTaskClaimRenewed: a task that runs for several claim TTLs is renewed by its node and so
// never handed to the other node; it is invoked once and its result recorded once.
func TestTaskClaimRenewed(t *testing.T) {
	s := &countingStore{Store: openSQLite(t, filepath.Join(t.TempDir(), "db"))}
	a, b := newBlockingRunner(`"from a"`), newBlockingRunner(`"from b"`)
	ea := newEngine(t, s, "a", engine.Options{Runner: a, TaskClaimTTL: claimTTL})
	newEngine(t, s, "b", engine.Options{Runner: b, TaskClaimTTL: claimTTL})
	sm := createMachine(t, s, "lambda", lambdaMachine)
	ex, err := ea.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	awaitStart(t, a, b)
	// Six renewals, a third of the TTL apart: the task has run for twice its claim's TTL.
	poll(t, "six renewals", func() bool { return s.extends.Load() >= 6 })
	if n := len(a.taskIDs()) + len(b.taskIDs()); n != 1 {
		t.Fatalf("task invoked %d times while its node lived (a %v, b %v)", n, a.taskIDs(), b.taskIDs())
	}
	close(a.release)
	close(b.release)
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusSucceeded {
		t.Fatalf("status %s %s %s", got.Status, deref(got.Error), deref(got.Cause))
	}
	if n := strings.Count(eventTypes(t, s, ex.Arn), "LambdaFunctionSucceeded"); n != 1 {
		t.Fatalf("%d LambdaFunctionSucceeded events", n)
	}
}

// TestTaskRedispatchedAfterNodeDeath: the node running a task goes away without a result (its
// engine stopped: the invocation abandoned, the claim no longer renewed); another node invokes
// the task again, with the same task id, once the claim lapsed, and the execution finishes.
func TestTaskRedispatchedAfterNodeDeath(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	a := newBlockingRunner(`"from a"`)
	ea, err := engine.New(engine.Options{Store: s, Node: "a", Runner: a, TaskClaimTTL: claimTTL, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := ea.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sm := createMachine(t, s, "lambda", lambdaMachine)
	ex, err := ea.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	first := awaitStart(t, a)
	if err := ea.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.returned.Load() != 1 {
		t.Fatal("Stop returned before the abandoned invocation did")
	}
	b := newBlockingRunner(`"from b"`)
	close(b.release)
	newEngine(t, s, "b", engine.Options{Runner: b, TaskClaimTTL: claimTTL})
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusSucceeded || deref(got.Output) != `"from b"` {
		t.Fatalf("status %s output %s error %s", got.Status, deref(got.Output), deref(got.Error))
	}
	if ids := b.taskIDs(); len(ids) != 1 || ids[0] != first {
		t.Fatalf("node b ran %v, want [%s]", ids, first)
	}
	want := "ExecutionStarted TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionSucceeded TaskStateExited ExecutionSucceeded"
	if got := eventTypes(t, s, ex.Arn); got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

// TestStopDropsRunningTaskResult: StopExecution does not wait for a running invocation, and
// the invocation's later result is dropped quietly, as on AWS.
func TestStopDropsRunningTaskResult(t *testing.T) {
	s := &countingStore{Store: openSQLite(t, filepath.Join(t.TempDir(), "db"))}
	logs := &errorLog{}
	r := newBlockingRunner(`"too late"`)
	e := newEngine(t, s, "n1", engine.Options{Runner: r, Logger: slog.New(logs)})
	sm := createMachine(t, s, "lambda", lambdaMachine)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	awaitStart(t, r)
	if err := e.StopExecution(context.Background(), ex.Arn, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusAborted {
		t.Fatalf("status %s", got.Status)
	}
	deletes := s.deletes.Load()
	close(r.release)
	poll(t, "the late result to be handled", func() bool { return r.returned.Load() == 1 && s.deletes.Load() > deletes })
	if msgs := logs.messages(); len(msgs) > 0 {
		t.Fatalf("errors logged: %q", msgs)
	}
	want := "ExecutionStarted TaskStateEntered LambdaFunctionScheduled ExecutionAborted"
	if got := eventTypes(t, s, ex.Arn); got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

// callbackRunner hands every task over to be completed through its token, as
// lambda:invoke.waitForTaskToken does once the function was invoked.
type callbackRunner struct{}

func (callbackRunner) Run(context.Context, *engine.Task) (string, error) {
	return "", engine.ErrCallback
}

// TestHeartbeatOfRunnerTask: a task with HeartbeatSeconds is recorded started when its runner
// takes it, so that its heartbeat timer runs: no heartbeat within it times the task out.
func TestHeartbeatOfRunnerTask(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{Runner: callbackRunner{}, WaitScale: 0.01})
	sm := createMachine(t, s, "callback", `{"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"HeartbeatSeconds":1,"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token"}},"End":true}}}`)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusFailed || deref(got.Error) != "States.HeartbeatTimeout" {
		t.Fatalf("status %s error %s", got.Status, deref(got.Error))
	}
	want := "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskTimedOut ExecutionFailed"
	if got := eventTypes(t, s, ex.Arn); got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

// refusingStore refuses to renew claims, as a store that is down would, and counts the
// effects claimed.
type refusingStore struct {
	store.Store
	claimed atomic.Int64
}

func (s *refusingStore) EffectClaimExtend(context.Context, *store.EffectClaimExtendParams) error {
	return errors.New("store unavailable")
}

func (s *refusingStore) EffectClaim(ctx context.Context, p *store.EffectClaimParams) ([]*store.Effect, error) {
	effects, err := s.Store.EffectClaim(ctx, p)
	s.claimed.Add(int64(len(effects)))
	return effects, err
}

// TestLapsedClaimNotRunTwiceByItsNode: when renewals fail, the claim lapses and the node claims
// the task again; while the task still runs there, it is not started a second time.
func TestLapsedClaimNotRunTwiceByItsNode(t *testing.T) {
	s := &refusingStore{Store: openSQLite(t, filepath.Join(t.TempDir(), "db"))}
	r := newBlockingRunner(`"done"`)
	e := newEngine(t, s, "n1", engine.Options{Runner: r, TaskClaimTTL: 150 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	sm := createMachine(t, s, "lambda", lambdaMachine)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	awaitStart(t, r)
	poll(t, "the task to be claimed again", func() bool { return s.claimed.Load() >= 3 })
	if ids := r.taskIDs(); len(ids) != 1 {
		t.Fatalf("task started %d times on its node", len(ids))
	}
	close(r.release)
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
}
