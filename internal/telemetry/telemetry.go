// Package telemetry exports executions as OpenTelemetry traces: one trace per execution, a span
// for the execution, one per state and one per task, built from history events as they commit.
//
// A durable execution moves between nodes: a state may be entered on one node and left on
// another after a restart. So no live span is kept across steps. Every id is derived from what
// the execution itself records — the trace id from its ARN and start time (or from the
// traceparent it was started under, for a nested execution), a state's span id from its
// StateEntered event id, a task's from its task id — and a span is made, with the timestamps
// its history events recorded, by whichever node commits the event that ends it. Any node
// continuing an execution therefore adds to the same trace, and a task runner can hand the
// task span's context to a Lambda function or a child execution before the span exists.
//
// Weaknesses: a task span starts at its state's entry when its execution's snapshot predates
// the schedule time it now keeps; a redriven execution's span starts at the execution's start. Map Run child executions (a
// distributed Map's) are not traced.
package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
)

// Options configure a Tracer.
type Options struct {
	// Exporter receives the spans, in batches; required.
	Exporter sdktrace.SpanExporter
	// ServiceName names the process in the spans' resource (default "stepline").
	ServiceName string
	// Node names this node in the spans' resource (service.instance.id).
	Node string
	// SampleRatio is the fraction of executions traced, chosen by trace id so that every node
	// decides alike for an execution (as OpenTelemetry's TraceIDRatioBased sampler does); a
	// nested execution follows its parent's decision. 0, or 1 and more, traces all.
	SampleRatio float64
}

// Tracer turns committed history events into spans. A nil *Tracer traces nothing and costs
// nothing: callers test for nil before gathering what Record needs.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	// below is the bound under which the trace id's last 63 bits sample an execution; 0
	// samples all.
	below uint64
}

// New returns a Tracer exporting through o.Exporter.
func New(o Options) (*Tracer, error) {
	if o.Exporter == nil {
		return nil, errors.New("telemetry: Options.Exporter is required")
	}
	if o.ServiceName == "" {
		o.ServiceName = "stepline"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", o.ServiceName)}
	if o.Node != "" {
		attrs = append(attrs, attribute.String("service.instance.id", o.Node))
	}
	p := sdktrace.NewTracerProvider(
		// A queue deep enough for a few seconds of a busy node's spans (a few thousand
		// transitions a second), sent in large batches: past it the batcher drops spans
		// rather than hold the engine back.
		sdktrace.WithBatcher(o.Exporter, sdktrace.WithMaxQueueSize(1<<16), sdktrace.WithMaxExportBatchSize(4096)),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(givenIDs{}),
	)
	t := &Tracer{provider: p, tracer: p.Tracer("github.com/stepline/stepline/internal/telemetry")}
	if o.SampleRatio > 0 && o.SampleRatio < 1 {
		t.below = uint64(o.SampleRatio * (1 << 63))
	}
	return t, nil
}

// Enabled reports whether the environment asks for traces: OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_TRACES_EXPORTER is not "none").
func Enabled() bool {
	if os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv returns a Tracer exporting OTLP over HTTP (protobuf) as the OTEL_EXPORTER_OTLP_*
// variables say, or nil when they ask for none (see Enabled). Only the http/protobuf protocol
// is served; OTEL_EXPORTER_OTLP_PROTOCOL=grpc is refused rather than silently ignored.
func FromEnv(ctx context.Context, node string) (*Tracer, error) {
	if !Enabled() {
		return nil, nil
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := os.Getenv(v); p != "" {
			if p != "http/protobuf" {
				return nil, fmt.Errorf("telemetry: %s=%s: only http/protobuf is supported", v, p)
			}
			break
		}
	}
	ratio := 1.0
	switch s := os.Getenv("OTEL_TRACES_SAMPLER"); s {
	case "", "always_on", "parentbased_always_on":
	case "always_off", "parentbased_always_off":
		return nil, nil
	case "traceidratio", "parentbased_traceidratio":
		if arg := os.Getenv("OTEL_TRACES_SAMPLER_ARG"); arg != "" {
			r, err := strconv.ParseFloat(arg, 64)
			if err != nil || r < 0 || r > 1 {
				return nil, fmt.Errorf("telemetry: OTEL_TRACES_SAMPLER_ARG=%s: want a ratio from 0 to 1", arg)
			}
			if r == 0 {
				return nil, nil
			}
			ratio = r
		}
	default:
		return nil, fmt.Errorf("telemetry: OTEL_TRACES_SAMPLER=%s: only always_on, always_off and traceidratio (parent-based or not) are supported", s)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	name := os.Getenv("OTEL_SERVICE_NAME")
	return New(Options{Exporter: exp, ServiceName: name, Node: node, SampleRatio: ratio})
}

// Shutdown exports the spans still queued and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// ForceFlush exports the spans queued so far.
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// idsKey carries the ids a span is to have to givenIDs.
type idsKey struct{}

type givenIDs struct{}

type spanIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

// NewIDs and NewSpanID hand the SDK the ids derived from the execution (see the package
// comment) instead of random ones.
func (givenIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	ids, _ := ctx.Value(idsKey{}).(spanIDs)
	return ids.trace, ids.span
}

func (givenIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	ids, _ := ctx.Value(idsKey{}).(spanIDs)
	return ids.span
}

// Trace is an execution's place in a trace: its trace id, the span it was started under (if
// any), its own execution span, and whether it is sampled.
type Trace struct {
	ID      trace.TraceID
	Parent  trace.SpanID // invalid for an execution started on its own
	Span    trace.SpanID // the execution's span
	Sampled bool
}

// TraceOf returns the trace of an execution. Its trace id is the traceparent's it was started
// under, else its start time (4 bytes of Unix seconds, so that it reads as an X-Ray trace id)
// followed by 12 bytes of a hash of its ARN. It is sampled as its parent was, else as its
// trace id falls under the sample ratio.
func (t *Tracer) TraceOf(id *interp.Identity) Trace {
	var tr Trace
	if sc, ok := ParseTraceParent(id.TraceParent); ok {
		tr.ID, tr.Parent, tr.Sampled = sc.TraceID(), sc.SpanID(), sc.IsSampled()
	} else {
		binary.BigEndian.PutUint32(tr.ID[:4], uint32(id.StartTime.Unix()))
		h := sha256.Sum256([]byte(id.ExecutionArn))
		copy(tr.ID[4:], h[:12])
		tr.Sampled = t.below == 0 || binary.BigEndian.Uint64(tr.ID[8:])>>1 < t.below
	}
	tr.Span = spanID(tr.ID, id.ExecutionArn, "execution", uint64(id.RedriveCount))
	return tr
}

// spanID hashes an execution's ARN, a kind of span and a number into a span id.
func spanID(tr trace.TraceID, arn, kind string, n uint64) trace.SpanID {
	h := sha256.New()
	h.Write(tr[:])
	h.Write([]byte(arn))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
	var id trace.SpanID
	copy(id[:], h.Sum(nil))
	if !id.IsValid() {
		id[7] = 1
	}
	return id
}

// taskSpanID is a task's span id. Task ids are unique within an execution; the hash takes the
// text, not a number, since ids are opaque.
func taskSpanID(tr trace.TraceID, arn, taskID string) trace.SpanID {
	return spanID(tr, arn+"\x00"+taskID, "task", 0)
}

// TaskParent returns the W3C traceparent of a task's span, which its Lambda function or child
// execution continues. It is known when the task is scheduled, before the span is exported at
// the task's end. An execution not sampled hands on a traceparent that says so.
func (t *Tracer) TaskParent(id *interp.Identity, taskID string) string {
	tr := t.TraceOf(id)
	s := FormatTraceParent(tr.ID, taskSpanID(tr.ID, id.ExecutionArn, taskID))
	if !tr.Sampled {
		s = s[:len(s)-2] + "00"
	}
	return s
}

// FormatTraceParent writes a sampled W3C traceparent.
func FormatTraceParent(tr trace.TraceID, span trace.SpanID) string {
	return "00-" + tr.String() + "-" + span.String() + "-01"
}

// ParseTraceParent reads a W3C traceparent (version 00).
func ParseTraceParent(s string) (trace.SpanContext, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 4 || parts[0] != "00" {
		return trace.SpanContext{}, false
	}
	tr, err := trace.TraceIDFromHex(parts[1])
	if err != nil {
		return trace.SpanContext{}, false
	}
	sp, err := trace.SpanIDFromHex(parts[2])
	if err != nil {
		return trace.SpanContext{}, false
	}
	flags, err := hex.DecodeString(parts[3])
	if err != nil || len(flags) != 1 {
		return trace.SpanContext{}, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tr, SpanID: sp, TraceFlags: trace.TraceFlags(flags[0]), Remote: true}), true
}

// XRayHeader turns a W3C traceparent into the X-Ray trace header Lambda hands a function
// (Lambda-Runtime-Trace-Id, which runtimes put in _X_AMZN_TRACE_ID):
// Root=1-{8 hex digits}-{24 hex digits};Parent={16 hex digits};Sampled=1. The X-Ray trace id is
// the W3C one split after its first 8 digits, as the OpenTelemetry X-Ray propagator reads it.
// It returns "" for a traceparent it cannot read.
func XRayHeader(traceparent string) string {
	sc, ok := ParseTraceParent(traceparent)
	if !ok {
		return ""
	}
	tr := sc.TraceID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return "Root=1-" + tr[:8] + "-" + tr[8:] + ";Parent=" + sc.SpanID().String() + ";Sampled=" + sampled
}

// Attribute keys of the spans.
const (
	AttrExecutionArn     = "aws.stepfunctions.execution.arn"
	AttrExecutionName    = "aws.stepfunctions.execution.name"
	AttrStateMachineArn  = "aws.stepfunctions.state_machine.arn"
	AttrStateMachineName = "aws.stepfunctions.state_machine.name"
	AttrRedriveCount     = "aws.stepfunctions.execution.redrive_count"
	AttrStatus           = "aws.stepfunctions.status"
	AttrState            = "aws.stepfunctions.state.name"
	AttrStateType        = "aws.stepfunctions.state.type"
	AttrResource         = "aws.stepfunctions.task.resource"
	AttrTaskID           = "aws.stepfunctions.task.id"
	AttrError            = "aws.stepfunctions.error"
)

// scope is a state a thread of the execution is in, as far as the events seen tell.
type scope struct {
	// parent is the span of the Parallel or Map state whose branch the state is in; invalid
	// for a state of the execution's own machine.
	parent      trace.SpanID
	entered     int64
	enteredTime time.Time
	state       string
	stateType   string
	closed      bool

	taskOpen  bool
	taskID    string
	taskStart time.Time
	resource  string
}

// Record makes the spans that events (one committed step of an execution, in order) end. id is
// the execution's identity; open is what interp.Execution.OpenStates said before the step.
func (t *Tracer) Record(id *interp.Identity, open []interp.OpenState, events []history.Event) {
	if t == nil || len(events) == 0 {
		return
	}
	tr := t.TraceOf(id)
	if !tr.Sampled {
		return
	}
	base := []attribute.KeyValue{
		attribute.String(AttrExecutionArn, id.ExecutionArn),
		attribute.String(AttrStateMachineArn, id.StateMachineArn),
	}
	execSC := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tr.ID, SpanID: tr.Span, TraceFlags: trace.FlagsSampled, Remote: true})
	var all []*scope
	byLast := make(map[int64]*scope, len(open))
	for _, o := range open {
		s := &scope{entered: o.Entered, enteredTime: o.EnteredTime, state: o.State, stateType: o.Type, taskID: o.TaskID,
			taskOpen: o.TaskID != "", taskStart: o.TaskScheduled, resource: o.Resource}
		if o.Parent != 0 {
			s.parent = spanID(tr.ID, id.ExecutionArn, "state", uint64(o.Parent))
		}
		byLast[o.Last] = s
		all = append(all, s)
	}
	byID := make(map[int64]*scope, len(events))
	endTask := func(s *scope, ev *history.Event, status string) {
		if !s.taskOpen {
			return
		}
		s.taskOpen = false
		start := s.taskStart
		if start.IsZero() {
			start = s.enteredTime
		}
		sid := taskSpanID(tr.ID, id.ExecutionArn, s.taskID)
		if s.taskID == "" {
			// Scheduled and ended in one step (a schedule that failed): no runner needed its id.
			sid = spanID(tr.ID, id.ExecutionArn, "task-event", uint64(ev.ID))
		}
		parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tr.ID, SpanID: spanID(tr.ID, id.ExecutionArn, "state", uint64(s.entered)),
			TraceFlags: trace.FlagsSampled, Remote: true})
		attrs := append(base[:len(base):len(base)], attribute.String(AttrState, s.state), attribute.String(AttrResource, s.resource),
			attribute.String(AttrStatus, status))
		if s.taskID != "" {
			attrs = append(attrs, attribute.String(AttrTaskID, s.taskID))
		}
		t.span(parent, tr.ID, sid, "task "+shortResource(s.resource), trace.SpanKindClient, start, ev.Timestamp, attrs, status, ev.Details.Error)
	}
	endState := func(s *scope, ev *history.Event, status string) {
		if s.closed {
			return
		}
		s.closed = true
		attrs := append(base[:len(base):len(base)], attribute.String(AttrState, s.state), attribute.String(AttrStatus, status))
		if s.stateType != "" {
			attrs = append(attrs, attribute.String(AttrStateType, s.stateType))
		}
		parent := execSC
		if s.parent.IsValid() {
			parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tr.ID, SpanID: s.parent, TraceFlags: trace.FlagsSampled, Remote: true})
		}
		t.span(parent, tr.ID, spanID(tr.ID, id.ExecutionArn, "state", uint64(s.entered)), s.state, trace.SpanKindInternal,
			s.enteredTime, ev.Timestamp, attrs, status, ev.Details.Error)
	}
	for i := range events {
		ev := &events[i]
		prev := byID[ev.PreviousEventID]
		if prev == nil {
			prev = byLast[ev.PreviousEventID]
		}
		typ := ev.Type
		switch {
		case strings.HasSuffix(typ, "StateEntered"):
			s := &scope{entered: ev.ID, enteredTime: ev.Timestamp, state: ev.Details.Name, stateType: strings.TrimSuffix(typ, "StateEntered")}
			if prev != nil {
				// A branch's or iteration's first state follows its Parallel's or Map's start,
				// while that state is open; a later state follows the exit of one in the
				// same branch.
				if !prev.closed && (prev.stateType == "Parallel" || prev.stateType == "Map") {
					s.parent = spanID(tr.ID, id.ExecutionArn, "state", uint64(prev.entered))
				} else {
					s.parent = prev.parent
				}
			}
			byID[ev.ID] = s
			all = append(all, s)
		case strings.HasSuffix(typ, "StateExited"):
			s := prev
			if s == nil || s.closed || s.state != ev.Details.Name {
				// A Parallel's or Map's exit follows its branches' last events: find the state
				// by name among those still open.
				s = nil
				for j := len(all) - 1; j >= 0; j-- {
					if !all[j].closed && all[j].state == ev.Details.Name {
						s = all[j]
						break
					}
				}
			}
			if s != nil {
				if s.stateType == "" {
					s.stateType = strings.TrimSuffix(typ, "StateExited")
				}
				endState(s, ev, "SUCCEEDED")
			}
			byID[ev.ID] = s
		case typ == "TaskScheduled" || typ == "LambdaFunctionScheduled" || typ == "ActivityScheduled":
			if prev != nil {
				prev.taskOpen, prev.taskID, prev.taskStart, prev.resource = true, "", ev.Timestamp, ev.Details.Resource
				byID[ev.ID] = prev
			}
		case typ == "TaskSucceeded" || typ == "LambdaFunctionSucceeded" || typ == "ActivitySucceeded":
			if prev != nil {
				endTask(prev, ev, "SUCCEEDED")
				byID[ev.ID] = prev
			}
		case strings.HasSuffix(typ, "Failed") && (strings.HasPrefix(typ, "Task") || strings.HasPrefix(typ, "LambdaFunction") || strings.HasPrefix(typ, "Activity")):
			if prev != nil {
				endTask(prev, ev, "FAILED")
				byID[ev.ID] = prev
			}
		case typ == "TaskTimedOut" || typ == "LambdaFunctionTimedOut" || typ == "ActivityTimedOut":
			if prev != nil {
				endTask(prev, ev, "TIMED_OUT")
				byID[ev.ID] = prev
			}
		case typ == "ExecutionSucceeded" || typ == "ExecutionFailed" || typ == "ExecutionAborted" || typ == "ExecutionTimedOut":
			status := executionStatus(typ)
			// What is still open ends with the execution.
			inner := status
			if inner == "SUCCEEDED" {
				inner = "ABORTED"
			}
			for _, s := range all {
				endTask(s, ev, inner)
				endState(s, ev, inner)
			}
			attrs := append(base[:len(base):len(base)], attribute.String(AttrExecutionName, id.Name),
				attribute.String(AttrStateMachineName, id.StateMachineName), attribute.String(AttrStatus, status),
				attribute.Int64(AttrRedriveCount, id.RedriveCount))
			var parent trace.SpanContext
			if tr.Parent.IsValid() {
				parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tr.ID, SpanID: tr.Parent, TraceFlags: trace.FlagsSampled, Remote: true})
			}
			t.span(parent, tr.ID, tr.Span, id.StateMachineName, trace.SpanKindServer, id.StartTime, ev.Timestamp, attrs, status, ev.Details.Error)
		default:
			if prev != nil {
				byID[ev.ID] = prev
			}
		}
	}
}

func executionStatus(typ string) string {
	switch typ {
	case "ExecutionSucceeded":
		return "SUCCEEDED"
	case "ExecutionFailed":
		return "FAILED"
	case "ExecutionAborted":
		return "ABORTED"
	}
	return "TIMED_OUT"
}

// span exports one finished span with the given ids and times.
func (t *Tracer) span(parent trace.SpanContext, tr trace.TraceID, id trace.SpanID, name string, kind trace.SpanKind,
	start, end time.Time, attrs []attribute.KeyValue, status string, errName *string) {
	ctx := context.Background()
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	ctx = context.WithValue(ctx, idsKey{}, spanIDs{trace: tr, span: id})
	if errName != nil {
		attrs = append(attrs, attribute.String(AttrError, *errName))
	}
	_, sp := t.tracer.Start(ctx, name, trace.WithTimestamp(start), trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	if status != "SUCCEEDED" {
		desc := status
		if errName != nil {
			desc = *errName
		}
		sp.SetStatus(codes.Error, desc)
	}
	sp.End(trace.WithTimestamp(end))
}

// shortResource names a task's resource briefly: a function's name, an integration's
// service:action.
func shortResource(r string) string {
	if rest, ok := strings.CutPrefix(r, "arn:aws:states:::"); ok {
		return rest
	}
	parts := strings.Split(r, ":")
	if len(parts) >= 7 {
		return parts[5] + ":" + parts[6]
	}
	return r
}
