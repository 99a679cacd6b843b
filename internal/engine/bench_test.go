package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

func passChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Parameters":{"order.$":"$.order","step":%d,"items.$":"$.items"},`, i, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"S%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkDurablePassChain20 starts executions of a 20-state Pass chain from 1,000 concurrent
// callers on SQLite; every execution and its 42 history events are committed before its start
// returns.
func BenchmarkDurablePassChain20(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "db"))
	e := newEngine(b, s, "n1", engine.Options{})
	sm := createMachine(b, s, "chain", passChain(20))
	benchmarkStarts(b, e, sm, 1000)
}

func benchmarkStarts(b *testing.B, e *engine.Engine, sm *store.StateMachine, callers int) {
	input := `{"order":"ORD-1","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: fmt.Sprint("e", i), Input: input})
				if err != nil || ex.Status != store.StatusSucceeded {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d executions failed", f)
	}
	b.ReportMetric(float64(b.N*20)/b.Elapsed().Seconds(), "transitions/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
}
