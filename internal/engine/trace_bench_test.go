package engine_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/telemetry"
)

// BenchmarkTracing measures what tracing costs, side by side with tracing off (no Tracer, as
// when OTEL_EXPORTER_OTLP_ENDPOINT is unset), on SQLite. Tracing on exports OTLP/HTTP to a
// receiver on loopback that decodes every request as a collector would, in this process, so
// its CPU counts against the engine's on this machine:
//
//   - PassChain20: the workload of BenchmarkDurablePassChain20 (a 20-state Pass chain started
//     by 1,000 concurrent callers; every execution ends in StartExecution's first burst): 21
//     spans an execution.
//   - TaskChain10: a chain of 10 Task states answered at once, started by 100 concurrent
//     callers, every task a step of the engine's loop: 21 spans an execution (the execution,
//     10 states, 10 tasks).
//
// It reports the spans received per span made (the SDK's batcher drops spans when its queue
// is full rather than hold the engine back) and the process's CPU time per transition, which
// a shared machine's load disturbs less than throughput.
//
// Run: go test -run '^$' -bench Tracing ./internal/engine
func BenchmarkTracing(b *testing.B) {
	for _, w := range []struct {
		name        string
		def         string
		callers     int
		transitions int
		runner      engine.Runner
	}{
		{"PassChain20", passChain(20), 1000, 20, nil},
		{"TaskChain10", taskChain(10), 100, 10, instantRunner{}},
	} {
		for _, on := range []bool{false, true} {
			name := w.name + "/off"
			if on {
				name = w.name + "/on"
			}
			b.Run(name, func(b *testing.B) {
				o := engine.Options{Runner: w.runner}
				var received atomic.Int64
				if on {
					o.Tracer = benchTracer(b, &received)
				}
				s := openSQLite(b, filepath.Join(b.TempDir(), "db"))
				e := newEngine(b, s, "n1", o)
				sm := createMachine(b, s, "traced", w.def)
				var next, failed atomic.Int64
				cpu0 := cpuTime()
				b.ResetTimer()
				var wg sync.WaitGroup
				for range w.callers {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: fmt.Sprint("e", i),
								Input: `{"order":"ORD-1","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`})
							if err != nil {
								failed.Add(1)
								continue
							}
							if ex.Status == store.StatusRunning {
								ex = waitEnd(b, s, ex.Arn)
							}
							if ex.Status != store.StatusSucceeded {
								failed.Add(1)
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				if f := failed.Load(); f > 0 {
					b.Fatalf("%d executions failed", f)
				}
				b.ReportMetric(float64(b.N*w.transitions)/b.Elapsed().Seconds(), "transitions/s")
				if on {
					// The last steps' spans are made just after their commits.
					if err := e.Stop(context.Background()); err != nil {
						b.Fatal(err)
					}
					if err := o.Tracer.ForceFlush(context.Background()); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(received.Load())/float64(b.N*21), "spans-received/made")
				}
				// The process's CPU time (engine, SQLite and, when on, the exporter and the
				// receiver) per transition: steadier than throughput on a shared machine.
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*w.transitions), "cpu-µs/transition")
			})
		}
	}
}

// benchTracer returns a Tracer exporting to an OTLP/HTTP receiver on loopback that counts the
// spans it decodes.
func benchTracer(b *testing.B, received *atomic.Int64) *telemetry.Tracer {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var ex coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &ex); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range ex.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				received.Add(int64(len(ss.Spans)))
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(srv.Close)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	tr, err := telemetry.New(telemetry.Options{Exporter: exp})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}
