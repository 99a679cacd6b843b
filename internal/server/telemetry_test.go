package server_test

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/telemetry"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: it decodes each
// ExportTraceServiceRequest as a collector does and keeps the spans.
type otlpReceiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var ex coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &ex); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range ex.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// tracer returns a Tracer exporting to the receiver, shut down when the test ends.
func (r *otlpReceiver) tracer(t *testing.T) *telemetry.Tracer {
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(r.srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := telemetry.New(telemetry.Options{Exporter: exp, Node: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Errorf("tracer shutdown: %v", err)
		}
	})
	return tr
}

// waitSpans flushes the tracer until the receiver holds n spans. Spans are made right after
// their events commit, so an execution reported ended may not have its last spans queued yet.
func (r *otlpReceiver) waitSpans(t *testing.T, tr *telemetry.Tracer, n int) []*tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := tr.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.mu.Lock()
		got := append([]*tracepb.Span(nil), r.spans...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

const pyTrace = `import os

def handler(event, context):
    return {"xray": os.environ.get("_X_AMZN_TRACE_ID"), "traceparent": os.environ.get("TRACEPARENT")}
`

// A three-state execution (a Pass, a Lambda task of a Python function, a nested .sync:2
// execution) reaches a real OTLP receiver as one trace: the parent's execution span is the
// root, its states are its children, each task's span is its state's child, and the child
// execution's span is the nested task span's child. The function saw its task span as
// _X_AMZN_TRACE_ID and TRACEPARENT.
func TestTracesOfANestedExecutionWithALambdaTask(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	t.Parallel()
	rcv := newOTLPReceiver(t)
	tr := rcv.tracer(t)
	b := setup(t, server.Options{Tracer: tr})
	createFunction(t, newLambdaClient(b.url), "py-trace", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyTrace))
	child := b.createMachine(t, "traced-child", `{"StartAt":"Inner","States":{"Inner":{"Type":"Pass","Result":{"n":1},"End":true}}}`)
	parent := b.createMachine(t, "traced-parent", `{"StartAt":"Prepare","States":{
		"Prepare":{"Type":"Pass","Result":"ready","ResultPath":"$.prep","Next":"Call"},
		"Call":{"Type":"Task","Resource":"`+fnArn("py-trace")+`","ResultPath":"$.fn","Next":"Nested"},
		"Nested":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
			"Parameters":{"StateMachineArn":"`+child+`","Input":{"x":1}},"ResultPath":"$.child","End":true}}}`)
	ex := b.start(t, parent, "traced", `{}`)
	d := b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	// parent execution, 3 states, 2 tasks; child execution and its state.
	spans := rcv.waitSpans(t, tr, 8)
	if len(spans) != 8 {
		for _, s := range spans {
			t.Logf("span %q %x parent %x", s.Name, s.SpanId, s.ParentSpanId)
		}
		t.Fatalf("received %d spans, want 8", len(spans))
	}
	traceID := spans[0].TraceId
	byKey := map[string]*tracepb.Span{}
	for _, s := range spans {
		if string(s.TraceId) != string(traceID) {
			t.Errorf("span %q is in trace %x, not %x", s.Name, s.TraceId, traceID)
		}
		key := s.Name
		if strings.HasPrefix(s.Name, "task ") {
			key = "task " + attr(s, telemetry.AttrState)
		}
		if byKey[key] != nil {
			t.Fatalf("two spans named %q", key)
		}
		byKey[key] = s
	}
	get := func(key string) *tracepb.Span {
		t.Helper()
		s := byKey[key]
		if s == nil {
			t.Fatalf("no span %q among %v", key, keys(byKey))
		}
		return s
	}
	root := get("traced-parent")
	if len(root.ParentSpanId) != 0 || attr(root, telemetry.AttrExecutionArn) != ex || attr(root, telemetry.AttrStatus) != "SUCCEEDED" ||
		root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("execution span: parent %x, attributes %v, kind %v", root.ParentSpanId, root.Attributes, root.Kind)
	}
	childOf := func(s, parent *tracepb.Span) {
		t.Helper()
		if string(s.ParentSpanId) != string(parent.SpanId) {
			t.Errorf("span %q has parent %x, want %q (%x)", s.Name, s.ParentSpanId, parent.Name, parent.SpanId)
		}
		if s.StartTimeUnixNano < parent.StartTimeUnixNano || s.EndTimeUnixNano > parent.EndTimeUnixNano || s.StartTimeUnixNano > s.EndTimeUnixNano {
			t.Errorf("span %q [%d, %d] is not within %q [%d, %d]", s.Name, s.StartTimeUnixNano, s.EndTimeUnixNano,
				parent.Name, parent.StartTimeUnixNano, parent.EndTimeUnixNano)
		}
	}
	for _, name := range []string{"Prepare", "Call", "Nested"} {
		s := get(name)
		childOf(s, root)
		if attr(s, telemetry.AttrState) != name || attr(s, telemetry.AttrExecutionArn) != ex || attr(s, telemetry.AttrStateMachineArn) != parent {
			t.Errorf("state span %q attributes %v", name, s.Attributes)
		}
	}
	call := get("task Call")
	childOf(call, get("Call"))
	if attr(call, telemetry.AttrResource) != fnArn("py-trace") || call.Kind != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("Lambda task span attributes %v, kind %v", call.Attributes, call.Kind)
	}
	nested := get("task Nested")
	childOf(nested, get("Nested"))
	childExec := get("traced-child")
	childOf(childExec, nested)
	if !strings.HasPrefix(attr(childExec, telemetry.AttrExecutionArn), exArn+"traced-child:") {
		t.Errorf("child execution span attributes %v", childExec.Attributes)
	}
	childOf(get("Inner"), childExec)

	// The function ran under its task's span, in both forms.
	var fn struct {
		Fn struct{ Xray, Traceparent string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &fn); err != nil {
		t.Fatal(err)
	}
	tid, sid := hex.EncodeToString(traceID), hex.EncodeToString(call.SpanId)
	if want := "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sid + ";Sampled=1"; fn.Fn.Xray != want {
		t.Errorf("_X_AMZN_TRACE_ID = %q, want %q", fn.Fn.Xray, want)
	}
	if want := "00-" + tid + "-" + sid + "-01"; fn.Fn.Traceparent != want {
		t.Errorf("TRACEPARENT = %q, want %q", fn.Fn.Traceparent, want)
	}
	// A caller's X-Amzn-Trace-Id (an AWS SDK inside a traced function sends its own) is the
	// invoked function's trace, as on Lambda.
	const hdr = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	withHeader := func(o *lambda.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Build.Add(middleware.BuildMiddlewareFunc("traceHeader", func(ctx context.Context, in middleware.BuildInput,
				next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Set("X-Amzn-Trace-Id", hdr)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
		})
	}
	out, err := newLambdaClient(b.url).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("py-trace")}, withHeader)
	if err != nil {
		t.Fatal(err)
	}
	var direct struct{ Xray, Traceparent string }
	if err := json.Unmarshal(out.Payload, &direct); err != nil || direct.Xray != hdr ||
		direct.Traceparent != "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01" {
		t.Errorf("invoked with X-Amzn-Trace-Id, the function saw %s (%v)", out.Payload, err)
	}

	// The trace id starts with the execution's start time, as an X-Ray trace id does.
	secs, err := strconv.ParseInt(tid[:8], 16, 64)
	if err != nil || time.Until(time.Unix(secs, 0)).Abs() > time.Hour {
		t.Errorf("trace id %s does not start with the execution's start time", tid)
	}
}

func keys(m map[string]*tracepb.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// metricValue reads one sample of a Prometheus text exposition.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Errorf("no sample %s", series)
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The AWS/States metrics on /metrics count what executions did, by state machine: started,
// succeeded and failed executions, Lambda functions and service integrations, and the
// execution time histogram; the engine's own metrics are still there.
func TestAWSMetricsByStateMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	t.Parallel()
	b := setup(t, server.Options{})
	createFunction(t, newLambdaClient(b.url), "py-echo", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyEcho))
	createFunction(t, newLambdaClient(b.url), "py-fail", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyFail))
	child := b.createMachine(t, "m-child", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	calls := b.createMachine(t, "m-calls", `{"StartAt":"Echo","States":{
		"Echo":{"Type":"Task","Resource":"`+fnArn("py-echo")+`","Next":"Fail"},
		"Fail":{"Type":"Task","Resource":"`+fnArn("py-fail")+`","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nested"}],"End":true},
		"Nested":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"`+child+`"},"End":true}}}`)
	fails := b.createMachine(t, "m-fails", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}`)
	var arns []string
	for i := range 2 {
		arns = append(arns, b.start(t, calls, "c"+strconv.Itoa(i), `{"item":"tea"}`))
	}
	for i := range 3 {
		arns = append(arns, b.start(t, fails, "f"+strconv.Itoa(i), `{}`))
	}
	for _, arn := range arns {
		b.waitDone(t, arn)
	}
	// The counters of the last commit are added just after it: scrape until they show.
	var text string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(b.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		text = string(body)
		if strings.Contains(text, `stepline_states_executions_succeeded_total{state_machine_arn="`+calls+`"} 2`) &&
			strings.Contains(text, `stepline_states_executions_failed_total{state_machine_arn="`+fails+`"} 3`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for series, want := range map[string]float64{
		`stepline_states_executions_started_total{state_machine_arn="` + calls + `"}`:                2,
		`stepline_states_executions_succeeded_total{state_machine_arn="` + calls + `"}`:              2,
		`stepline_states_executions_failed_total{state_machine_arn="` + calls + `"}`:                 0,
		`stepline_states_executions_started_total{state_machine_arn="` + fails + `"}`:                3,
		`stepline_states_executions_failed_total{state_machine_arn="` + fails + `"}`:                 3,
		`stepline_states_executions_started_total{state_machine_arn="` + child + `"}`:                2,
		`stepline_states_executions_succeeded_total{state_machine_arn="` + child + `"}`:              2,
		`stepline_states_lambda_functions_scheduled_total{state_machine_arn="` + calls + `"}`:        4,
		`stepline_states_lambda_functions_succeeded_total{state_machine_arn="` + calls + `"}`:        2,
		`stepline_states_lambda_functions_failed_total{state_machine_arn="` + calls + `"}`:           2,
		`stepline_states_service_integrations_scheduled_total{state_machine_arn="` + calls + `"}`:    2,
		`stepline_states_service_integrations_succeeded_total{state_machine_arn="` + calls + `"}`:    2,
		`stepline_states_lambda_functions_scheduled_total{state_machine_arn="` + fails + `"}`:        0,
		`stepline_states_execution_time_seconds_count{state_machine_arn="` + calls + `"}`:            2,
		`stepline_states_execution_time_seconds_bucket{state_machine_arn="` + fails + `",le="+Inf"}`: 3,
		`stepline_states_execution_throttled_total`:                                                  0,
		`stepline_executions_started_total`:                                                          7,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %g, want %g", series, got, want)
		}
	}
	for _, own := range []string{"stepline_timer_lag_seconds_count", "stepline_store_commit_seconds_count"} {
		if !strings.Contains(text, own+" ") {
			t.Errorf("/metrics lost %s", own)
		}
	}
	// Every series the Grafana dashboard reads is on /metrics.
	dash, err := os.ReadFile("../../docs/grafana/stepline.json")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`stepline_[a-z_]+`).FindAllString(string(dash), -1)
	if len(names) < 10 {
		t.Fatalf("the dashboard reads only %v", names)
	}
	for _, name := range names {
		if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).MatchString(text) {
			t.Errorf("the dashboard reads %s, which /metrics does not have", name)
		}
	}
}
