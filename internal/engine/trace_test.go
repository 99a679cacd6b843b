package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/telemetry"
)

// traceRunner answers every task at once and keeps the traceparents it was given.
type traceRunner struct {
	mu      sync.Mutex
	parents []string
}

func (r *traceRunner) Run(_ context.Context, t *engine.Task) (string, error) {
	r.mu.Lock()
	r.parents = append(r.parents, t.TraceParent)
	r.mu.Unlock()
	return `{}`, nil
}

func memTracer(t *testing.T) (*telemetry.Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.New(telemetry.Options{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	return tr, exp
}

// An execution whose Task state is entered on one node and left on another, after the first
// stopped mid-task, is one trace: the second node ends the state's span that the first
// started, with the entry's time, under the same execution span, and the task span it
// exports is the one whose traceparent both nodes' runners were given.
func TestTraceContinuesOnAnotherNode(t *testing.T) {
	t.Parallel()
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	trA, expA := memTracer(t)
	trB, expB := memTracer(t)
	blocked := newBlockingRunner(`{}`)
	a := newEngine(t, s, "a", engine.Options{Runner: blocked, Tracer: trA, TaskClaimTTL: 300 * time.Millisecond})
	sm := createMachine(t, s, "traced", `{"StartAt":"P","States":{
		"P":{"Type":"Pass","Next":"T"},
		"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Next":"Q"},
		"Q":{"Type":"Pass","End":true}}}`)
	ex, err := a.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "x", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	<-blocked.started
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The task's claim lapses and node b runs it again.
	answer := &traceRunner{}
	newEngine(t, s, "b", engine.Options{Runner: answer, Tracer: trB, TaskClaimTTL: 300 * time.Millisecond})
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
	// The last step's spans are made just after its commit: wait for the execution's.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := trB.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(expB.GetSpans()) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := trA.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	onA, onB := expA.GetSpans(), expB.GetSpans()
	names := func(ss tracetest.SpanStubs) (out []string) {
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	// a ended only P; b ended the task, T, Q and the execution.
	if len(onA) != 1 || onA[0].Name != "P" || len(onB) != 4 {
		t.Fatalf("spans on a %v, on b %v", names(onA), names(onB))
	}
	by := map[string]tracetest.SpanStub{"P": onA[0]}
	for _, s := range onB {
		by[s.Name] = s
	}
	exec, state, task := by["traced"], by["T"], by["task function:f"]
	if !exec.SpanContext.IsValid() || !state.SpanContext.IsValid() || !task.SpanContext.IsValid() || by["Q"].Name == "" {
		t.Fatalf("spans on b: %v", names(onB))
	}
	trace := exec.SpanContext.TraceID()
	for name, s := range by {
		if s.SpanContext.TraceID() != trace {
			t.Errorf("span %s is in trace %s, not %s", name, s.SpanContext.TraceID(), trace)
		}
	}
	for _, name := range []string{"P", "T", "Q"} {
		if by[name].Parent.SpanID() != exec.SpanContext.SpanID() {
			t.Errorf("state %s's parent is %s, not the execution's span %s", name, by[name].Parent.SpanID(), exec.SpanContext.SpanID())
		}
	}
	if task.Parent.SpanID() != state.SpanContext.SpanID() {
		t.Errorf("task span's parent is %s, not T's span %s", task.Parent.SpanID(), state.SpanContext.SpanID())
	}
	// T was entered on a, in the step that ended P.
	if !state.StartTime.Equal(by["P"].EndTime) || !state.EndTime.After(state.StartTime) || !exec.StartTime.Equal(by["P"].StartTime) {
		t.Errorf("T [%v, %v], P [%v, %v], execution from %v", state.StartTime, state.EndTime, by["P"].StartTime, by["P"].EndTime, exec.StartTime)
	}
	want := telemetry.FormatTraceParent(trace, task.SpanContext.SpanID())
	if answer.parents[0] != want {
		t.Errorf("node b's runner was given %q, want %q", answer.parents[0], want)
	}
	_ = trA.Shutdown(context.Background())
	_ = trB.Shutdown(context.Background())
}

// States inside a Parallel's branches and a Map's iterations are children of the Parallel's
// and the Map's spans, also when a branch's task ends in a later step than the one that
// entered it.
func TestTraceNestsBranchesAndIterations(t *testing.T) {
	t.Parallel()
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	tr, exp := memTracer(t)
	e := newEngine(t, s, "a", engine.Options{Runner: &traceRunner{}, Tracer: tr})
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	sm := createMachine(t, s, "nested", `{"StartAt":"Par","States":{
		"Par":{"Type":"Parallel","Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"`+fn+`","Next":"B2"},"B2":{"Type":"Pass","End":true}}}],"Next":"M"},
		"M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Task","Resource":"`+fn+`","End":true}}},"End":true}}}`)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "x", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
	// execution, Par, A, B, B's task, B2, M, two I and their tasks.
	const want = 11
	deadline := time.Now().Add(10 * time.Second)
	for len(exp.GetSpans()) < want && time.Now().Before(deadline) {
		if err := tr.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	spans := exp.GetSpans()
	if len(spans) != want {
		t.Fatalf("%d spans, want %d", len(spans), want)
	}
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	one := func(name string) tracetest.SpanStub {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans named %s", len(byName[name]), name)
		}
		return byName[name][0]
	}
	parentIs := func(child, parent tracetest.SpanStub) {
		t.Helper()
		if child.Parent.SpanID() != parent.SpanContext.SpanID() {
			t.Errorf("%s's parent is %s, want %s (%s)", child.Name, child.Parent.SpanID(), parent.Name, parent.SpanContext.SpanID())
		}
	}
	exec, par, m := one("nested"), one("Par"), one("M")
	parentIs(par, exec)
	parentIs(m, exec)
	parentIs(one("A"), par)
	parentIs(one("B"), par)
	parentIs(one("B2"), par)
	if len(byName["I"]) != 2 || len(byName["task function:f"]) != 3 {
		t.Fatalf("spans: %v", byName)
	}
	iters := map[string]bool{}
	for _, i := range byName["I"] {
		parentIs(i, m)
		iters[i.SpanContext.SpanID().String()] = true
	}
	for _, task := range byName["task function:f"] {
		p := task.Parent.SpanID()
		if p != one("B").SpanContext.SpanID() && !iters[p.String()] {
			t.Errorf("a task span's parent %s is neither B nor an iteration's I", p)
		}
	}
}

// failOnce fails a task's first attempt and answers the others.
type failOnce struct {
	mu    sync.Mutex
	calls int
}

func (r *failOnce) Run(_ context.Context, t *engine.Task) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls == 1 {
		return "", &engine.TaskError{Name: "Boom", Cause: "first attempt"}
	}
	return `{}`, nil
}

// A retried task's second attempt, scheduled by its retry timer in a later step than the one
// that records its result, is a span of its own that starts when it was scheduled, after the
// first attempt's span ended, both under the one state span.
func TestTraceOfARetriedTask(t *testing.T) {
	t.Parallel()
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	tr, exp := memTracer(t)
	e := newEngine(t, s, "a", engine.Options{Runner: &failOnce{}, Tracer: tr, WaitScale: 0.05})
	sm := createMachine(t, s, "retried", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f",
		"Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":1,"MaxAttempts":1}],"End":true}}}`)
	ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "x", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitEnd(t, s, ex.Arn); got.Status != store.StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
	const want = 4 // the execution, T, two attempts
	deadline := time.Now().Add(10 * time.Second)
	for len(exp.GetSpans()) < want && time.Now().Before(deadline) {
		if err := tr.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var state tracetest.SpanStub
	var attempts []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch s.Name {
		case "T":
			state = s
		case "task function:f":
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 2 || state.Name == "" {
		t.Fatalf("spans %v", exp.GetSpans())
	}
	first, second := attempts[0], attempts[1]
	if first.Status.Code.String() != "Error" || second.Status.Code.String() != "Unset" {
		first, second = second, first
	}
	if first.SpanContext.SpanID() == second.SpanContext.SpanID() {
		t.Error("both attempts have one span id")
	}
	if !second.StartTime.After(first.EndTime) || first.StartTime != state.StartTime || !second.EndTime.After(second.StartTime) {
		t.Errorf("first attempt [%v, %v], second [%v, %v], state from %v", first.StartTime, first.EndTime,
			second.StartTime, second.EndTime, state.StartTime)
	}
	for _, a := range attempts {
		if a.Parent.SpanID() != state.SpanContext.SpanID() {
			t.Errorf("an attempt's parent is %s, not T's span", a.Parent.SpanID())
		}
	}
}
