package telemetry_test

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/telemetry"
)

func newTracer(t *testing.T, ratio float64) (*telemetry.Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.New(telemetry.Options{Exporter: exp, SampleRatio: ratio})
	if err != nil {
		t.Fatal(err)
	}
	return tr, exp
}

// passRun is the history of an execution of one Pass state.
func passRun(start time.Time) []history.Event {
	return []history.Event{
		{ID: 1, Timestamp: start, Type: "ExecutionStarted"},
		{ID: 2, PreviousEventID: 1, Timestamp: start, Type: "PassStateEntered", Details: history.Details{Name: "P"}},
		{ID: 3, PreviousEventID: 2, Timestamp: start.Add(time.Millisecond), Type: "PassStateExited", Details: history.Details{Name: "P"}},
		{ID: 4, PreviousEventID: 3, Timestamp: start.Add(2 * time.Millisecond), Type: "ExecutionSucceeded"},
	}
}

// With a sample ratio, whether an execution is traced follows from its trace id alone: two
// nodes with the same ratio trace the same executions, about the ratio of them; the task
// traceparent of one not traced says so, and a nested execution under it is not traced.
func TestSampleRatioDecidesByTraceID(t *testing.T) {
	a, expA := newTracer(t, 0.5)
	b, expB := newTracer(t, 0.5)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sampled := map[string]bool{}
	for i := range 400 {
		id := &interp.Identity{ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e" + strconv.Itoa(i),
			StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m", StateMachineName: "m", StartTime: start}
		a.Record(id, nil, passRun(start))
		b.Record(id, nil, passRun(start))
		tr := a.TraceOf(id)
		sampled[tr.ID.String()] = tr.Sampled
		parent := a.TaskParent(id, "task-1")
		if want := map[bool]string{true: "-01", false: "-00"}[tr.Sampled]; parent[len(parent)-3:] != want {
			t.Fatalf("task traceparent %s of an execution sampled=%v", parent, tr.Sampled)
		}
		if !tr.Sampled {
			child := &interp.Identity{ExecutionArn: id.ExecutionArn + "-child", StartTime: start, TraceParent: parent}
			if b.TraceOf(child).Sampled {
				t.Fatalf("a child of an execution not sampled is sampled")
			}
		}
	}
	for _, tr := range []*telemetry.Tracer{a, b} {
		if err := tr.ForceFlush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	traces := func(exp *tracetest.InMemoryExporter) map[string]int {
		out := map[string]int{}
		for _, s := range exp.GetSpans() {
			out[s.SpanContext.TraceID().String()]++
		}
		return out
	}
	onA, onB := traces(expA), traces(expB)
	if len(onA) < 140 || len(onA) > 260 {
		t.Errorf("%d of 400 executions traced at ratio 0.5", len(onA))
	}
	for id, n := range onA {
		if n != 2 || onB[id] != 2 || !sampled[id] {
			t.Errorf("trace %s: %d spans on a, %d on b, sampled %v", id, n, onB[id], sampled[id])
		}
	}
	if len(onB) != len(onA) {
		t.Errorf("a traced %d executions, b %d", len(onA), len(onB))
	}
	for _, tr := range []*telemetry.Tracer{a, b} {
		if err := tr.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// Without a ratio every execution is traced, and the X-Ray header of a task's traceparent
// splits the trace id as X-Ray's Root.
func TestAllSampledAndXRayHeader(t *testing.T) {
	tr, _ := newTracer(t, 0)
	id := &interp.Identity{ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:m:x", StartTime: time.Unix(0x5759e988, 0)}
	if !tr.TraceOf(id).Sampled {
		t.Fatal("not sampled without a ratio")
	}
	parent := tr.TaskParent(id, "task-1")
	x := telemetry.XRayHeader(parent)
	want := "Root=1-5759e988-" + parent[11:35] + ";Parent=" + parent[36:52] + ";Sampled=1"
	if x != want || parent[3:11] != "5759e988" {
		t.Errorf("XRayHeader(%s) = %s, want %s", parent, x, want)
	}
	if telemetry.XRayHeader("garbage") != "" {
		t.Error("XRayHeader of garbage is not empty")
	}
	_ = tr.Shutdown(t.Context())
}
