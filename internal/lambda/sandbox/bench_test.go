package sandbox

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchInvoke runs b.N invocations of spec from callers goroutines and reports p50/p99
// latency and invocations per second.
func benchInvoke(b *testing.B, spec *Spec, callers int) {
	p := newPool(b, Options{DefaultConcurrency: 4})
	payload := []byte(`{"op":"echo","data":{"hello":"world","n":42}}`)
	// Warm up as many processes as the function may have.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: payload}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	b.ResetTimer()
	cpu0 := selfCPU()
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv := &Invocation{Payload: payload}
			for {
				next.Lock()
				n := i
				i++
				next.Unlock()
				if n >= b.N {
					return
				}
				inv.RequestID = newID()
				t0 := time.Now()
				res, err := p.Invoke(context.Background(), spec, inv)
				lat[n] = time.Since(t0)
				if err != nil || res.FunctionError != "" {
					b.Errorf("invoke: %v %s", err, res.Payload)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := selfCPU() - cpu0
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "inv/s")
	// What the server side (pool, Runtime API, the benchmark's callers) costs per invocation,
	// the function's process not included.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-cpu-µs/op")
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkWarmGo(b *testing.B)       { benchInvoke(b, goSpec(b, "bench-go"), 1) }
func BenchmarkWarmGo20(b *testing.B)     { benchInvoke(b, goSpec(b, "bench-go"), 20) }
func BenchmarkWarmPython(b *testing.B)   { benchInvoke(b, pySpec(b, "bench-py", "app.handler"), 1) }
func BenchmarkWarmPython20(b *testing.B) { benchInvoke(b, pySpec(b, "bench-py", "app.handler"), 20) }
func BenchmarkWarmNode20(b *testing.B) {
	benchInvoke(b, nodeSpec(b, "bench-node", "index.handler"), 20)
}
func BenchmarkColdGo(b *testing.B)     { benchCold(b, goSpec(b, "cold-go")) }
func BenchmarkColdPython(b *testing.B) { benchCold(b, pySpec(b, "cold-py", "app.handler")) }
func BenchmarkColdNode(b *testing.B)   { benchCold(b, nodeSpec(b, "cold-node", "index.handler")) }

// benchCold measures a cold start: process start, init and the first invocation.
func benchCold(b *testing.B, spec *Spec) {
	p := newPool(b, Options{})
	payload := []byte(`{"op":"echo","data":1}`)
	for b.Loop() {
		p.Evict(spec.Function)
		res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: payload})
		if err != nil || res.FunctionError != "" {
			b.Fatalf("invoke: %v %s", err, res.Payload)
		}
	}
}
