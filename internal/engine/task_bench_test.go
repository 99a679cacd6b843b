package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// instantRunner answers every task at once with its parameters: what the engine adds to an
// execution for each task, without the task's own work.
type instantRunner struct{}

func (instantRunner) Run(_ context.Context, t *engine.Task) (string, error) { return t.Parameters, nil }

func taskChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"S%d":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Parameters":{"step":%d},`, i, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"S%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkDurableTaskChain10 runs executions of a chain of 10 Lambda tasks one after the
// other on SQLite, each task answered at once by the Runner: every task is an outbox effect,
// a dispatch, an inbox message and a step. It reports the start-to-end latency's p50 and the
// time each task adds.
func BenchmarkDurableTaskChain10(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "db"))
	e := newEngine(b, s, "n1", engine.Options{Runner: instantRunner{}, PollInterval: 50 * time.Millisecond})
	sm := createMachine(b, s, "tasks", taskChain(10))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: fmt.Sprint("e", i), Input: `{}`})
		if err != nil {
			b.Fatal(err)
		}
		if got := waitEnd(b, s, ex.Arn); got.Status != store.StatusSucceeded {
			b.Fatalf("status %s", got.Status)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50 := lat[len(lat)/2]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms/execution")
	b.ReportMetric(float64(p50.Microseconds())/10000, "ms/task")
}
