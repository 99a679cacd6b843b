package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/logs"
	"github.com/stepline/stepline/internal/store"
)

// BenchmarkExecutionLogs measures what execution logs cost, side by side with logging OFF, on
// SQLite, with the server's logger (logs.StoreLogger writing files under a data folder):
//
//   - PassChain20: the workload of BenchmarkDurablePassChain20 (a 20-state Pass chain started
//     by 1,000 concurrent callers; every execution ends in StartExecution's first burst, 42
//     events), so ALL writes 42 log events per execution from the events themselves.
//   - TaskChain10: a chain of 10 Task states answered at once, started by 100 concurrent
//     callers: every task is a step of the engine's loop, logged from the committed events as
//     the store keeps them (LogCommitted), 52 events per execution.
//
// Run: go test -run '^$' -bench ExecutionLogs ./internal/engine
func BenchmarkExecutionLogs(b *testing.B) {
	for _, w := range []struct {
		name        string
		def         string
		callers     int
		transitions int
		events      int // history events of one execution
		runner      engine.Runner
	}{
		{"PassChain20", passChain(20), 1000, 20, 42, nil},
		{"TaskChain10", taskChain(10), 100, 10, 52, instantRunner{}},
	} {
		for _, level := range []string{"OFF", "ALL"} {
			b.Run(w.name+"/"+level, func(b *testing.B) {
				dir := b.TempDir()
				s := openSQLite(b, filepath.Join(dir, "db"))
				svc, err := logs.New(logs.Options{DataDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { svc.Close() })
				e := newEngine(b, s, "n1", engine.Options{Runner: w.runner,
					ExecutionLogs: &logs.StoreLogger{Logs: svc.ExecutionLogs(), Store: s}})
				sm := createLoggedMachine(b, s, w.def, level)
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
				// The process's CPU time per transition, which other load on the machine
				// disturbs less than the rate does.
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*w.transitions), "cpu-µs/transition")
				if level == "ALL" {
					// Every event of every execution was logged: events are the lines of the
					// group's stream files but one header line a stream.
					if lines, streams := countLines(b, filepath.Join(dir, "logs")); lines-streams != b.N*w.events {
						b.Fatalf("%d events logged, want %d", lines-streams, b.N*w.events)
					}
				}
			})
		}
	}
}

// createLoggedMachine creates a machine whose loggingConfiguration has the given level.
func createLoggedMachine(b *testing.B, s store.Store, def, level string) *store.StateMachine {
	b.Helper()
	now := time.Now().UTC()
	cfg := fmt.Sprintf(`{"level":%q,"includeExecutionData":true,"destinations":[{"cloudWatchLogsLogGroup":{"logGroupArn":"arn:aws:logs:us-east-1:123456789012:log-group:/bench:*"}}]}`, level)
	sm, err := s.StateMachineCreate(context.Background(), &store.StateMachineCreateParams{
		Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:logged", Name: "logged", Type: store.StateMachineStandard, CreatedAt: now,
		Revision: store.Revision{RevisionID: "r1", RevisionCreatedAt: now, Definition: def, RoleArn: "arn:aws:iam::123456789012:role/r",
			LoggingConfiguration: []byte(cfg)},
	})
	if err != nil {
		b.Fatal(err)
	}
	return sm
}

// countLines counts the lines of the files under dir, and the files.
func countLines(b *testing.B, dir string) (lines, files int) {
	b.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "group.json" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		lines += bytes.Count(data, []byte{'\n'})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return lines, files
}
