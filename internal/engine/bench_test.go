package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
	storedsn "github.com/stepline/stepline/internal/store/dsn"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
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

// BenchmarkDurableDistributedMap100 starts executions of a distributed Map over 100 items,
// each a child execution of two Pass states with a history of its own (six events), from 50
// concurrent callers on SQLite; every execution ends, with its 100 children's histories
// committed, before its start returns. 201 transitions per execution.
func BenchmarkDurableDistributedMap100(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "db"))
	e := newEngine(b, s, "n1", engine.Options{})
	benchmarkDistributedMap(b, []*engine.Engine{e}, s)
}

// BenchmarkDurableDistributedMap100Postgres is BenchmarkDurableDistributedMap100 on PostgreSQL.
func BenchmarkDurableDistributedMap100Postgres(b *testing.B) {
	_, _, dsn := pgtest.Schema(b)
	s, err := storedsn.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	benchmarkDistributedMap(b, []*engine.Engine{newEngine(b, s, "n1", engine.Options{})}, s)
}

func benchmarkDistributedMap(b *testing.B, engines []*engine.Engine, s store.Store) {
	sm := createMachine(b, s, "fanout", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"A",
			"States":{"A":{"Type":"Pass","Parameters":{"sku.$":"$.sku"},"Next":"B"},"B":{"Type":"Pass","End":true}}}}}}`)
	items := make([]string, 100)
	for i := range items {
		items[i] = fmt.Sprintf(`{"sku":"s-%d","qty":%d}`, i, i)
	}
	benchmarkStartsWith(b, engines, sm, 50, `{"items":[`+strings.Join(items, ",")+`]}`, 201)
}

func benchmarkStarts(b *testing.B, e *engine.Engine, sm *store.StateMachine, callers int) {
	benchmarkStartsOn(b, []*engine.Engine{e}, sm, callers)
}

// benchmarkStartsOn spreads the callers over the engines.
func benchmarkStartsOn(b *testing.B, engines []*engine.Engine, sm *store.StateMachine, callers int) {
	benchmarkStartsWith(b, engines, sm, callers, `{"order":"ORD-1","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`, 20)
}

// benchmarkStartsWith starts executions that each end at once after transitions transitions.
func benchmarkStartsWith(b *testing.B, engines []*engine.Engine, sm *store.StateMachine, callers int, input string, transitions int) {
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range callers {
		e := engines[c%len(engines)]
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
	b.ReportMetric(float64(b.N*transitions)/b.Elapsed().Seconds(), "transitions/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
}

// BenchmarkParkedWaits parks 100,000 executions in a 60-second Wait state on SQLite (longer than
// starting them all takes, so that all are parked at once) and lets them all resume. It reports
// the process's peak resident memory and how many timers fired more than a second, and more
// than a tenth of a second, late (from the engine's timer lag histogram). Their due times are
// spread as the starts were: started as fast as 200 callers can, they come due as fast as the
// node could start them, so they resume on time only if resuming is faster than starting (see
// BenchmarkResumeParked). It also runs with starts paced at a steady rate. Run it alone:
//
//	go test -run '^$' -bench ParkedWaits -benchtime 1x ./internal/engine
func BenchmarkParkedWaits(b *testing.B) {
	for _, rate := range []int{0, 8000} {
		name := "starts=unpaced"
		if rate > 0 {
			name = fmt.Sprintf("starts=%d/s", rate)
		}
		b.Run(name, func(b *testing.B) { benchmarkParkedWaits(b, rate) })
	}
}

// benchmarkParkedWaits starts at most rate executions a second; 0 means as fast as they go.
func benchmarkParkedWaits(b *testing.B, rate int) {
	const n = 100_000
	s := openSQLite(b, filepath.Join(b.TempDir(), "db"))
	e := newEngine(b, s, "n1", engine.Options{WaitScale: 1, PollInterval: 20 * time.Millisecond})
	sm := createMachine(b, s, "parked", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"Next":"P"},"P":{"Type":"Pass","End":true}}}`)
	var next atomic.Int64
	var wg sync.WaitGroup
	begun := time.Now()
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if rate > 0 {
					time.Sleep(time.Until(begun.Add(time.Duration(i) * time.Second / time.Duration(rate))))
				}
				if _, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: fmt.Sprint("e", i), Input: `{}`}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	started := time.Now()
	b.Logf("started %d executions in %v (%.0f/s); resident memory %d MiB", n, started.Sub(begun).Round(time.Millisecond),
		n/started.Sub(begun).Seconds(), residentMiB())
	for {
		res, err := s.ExecutionList(context.Background(), &store.ExecutionListParams{StateMachineArn: sm.Arn, Status: store.StatusRunning, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Executions) == 0 {
			break
		}
		if time.Since(started) > 5*time.Minute {
			b.Fatal("executions still running after 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The first timer came due 60 s after the first start.
	resumed := time.Since(begun.Add(60 * time.Second))
	b.Logf("resumed %d executions in %v (%.0f/s)", n, resumed.Round(time.Millisecond), n/resumed.Seconds())
	var text strings.Builder
	e.Metrics().WriteTo(&text)
	late, total := lateTimers(text.String(), "1")
	lateTenth, _ := lateTimers(text.String(), "0.1")
	b.ReportMetric(float64(residentMiB()), "peak-RSS-MiB")
	b.ReportMetric(float64(late), "timers-late-over-1s")
	b.ReportMetric(float64(lateTenth), "timers-late-over-0.1s")
	b.ReportMetric(float64(total), "timers")
}

// residentMiB returns the process's peak resident set size.
func residentMiB() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb / 1024
		}
	}
	return -1
}

// lateTimers reads the timer lag histogram: timers that fired more than le seconds (one of its
// bucket bounds) after their due time, and all timers.
func lateTimers(metrics, le string) (late, total int64) {
	var within int64
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, `stepline_timer_lag_seconds_bucket{le="`+le+`"} `); ok {
			within, _ = strconv.ParseInt(rest, 10, 64)
		}
		if rest, ok := strings.CutPrefix(line, "stepline_timer_lag_seconds_count "); ok {
			total, _ = strconv.ParseInt(rest, 10, 64)
		}
	}
	return total - within, total
}

// BenchmarkDurablePassChain20Postgres is BenchmarkDurablePassChain20 on PostgreSQL, with one
// node, and with three nodes (engines with their own pools) sharing the database and the
// callers; it needs STEPLINE_TEST_POSTGRES.
func BenchmarkDurablePassChain20Postgres(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			_, _, dsn := pgtest.Schema(b)
			var engines []*engine.Engine
			var first store.Store
			for i := range nodes {
				s, err := storedsn.Open(context.Background(), dsn)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				if first == nil {
					first = s
				}
				engines = append(engines, newEngine(b, s, fmt.Sprint("n", i), engine.Options{}))
			}
			sm := createMachine(b, first, "chain", passChain(20))
			benchmarkStartsOn(b, engines, sm, 1000)
		})
	}
}

// jumpClock is the wall clock moved forward by a settable offset, so a benchmark can bring a
// whole population of parked timers due at one instant.
type jumpClock struct{ offset atomic.Int64 }

func (c *jumpClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *jumpClock) Sleep(ctx context.Context, d time.Duration) error {
	return clock.Real{}.Sleep(ctx, d)
}

// BenchmarkResumeParked measures how fast one node resumes executions whose Wait came due: it
// parks b.N executions in an hour-long Wait on SQLite, moves the clock past the hour and times
// until all have ended. Parked waits resume on time only if a node resumes executions faster
// than it starts them: their due times come as fast as their starts went.
func BenchmarkResumeParked(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "db"))
	clk := &jumpClock{}
	e := newEngine(b, s, "n1", engine.Options{WaitScale: 1, Clock: clk, PollInterval: 20 * time.Millisecond})
	sm := createMachine(b, s, "parked", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},"P":{"Type":"Pass","End":true}}}`)
	var next atomic.Int64
	var wg sync.WaitGroup
	begun, cpuBegun := time.Now(), cpuTime()
	for range 200 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if _, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: fmt.Sprint("e", i), Input: `{}`}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	startRate := float64(b.N) / time.Since(begun).Seconds()
	startCPU := cpuTime() - cpuBegun
	b.ResetTimer()
	cpuResumed := cpuTime()
	clk.offset.Store(int64(time.Hour + time.Second))
	for {
		res, err := s.ExecutionList(context.Background(), &store.ExecutionListParams{StateMachineArn: sm.Arn, Status: store.StatusRunning, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Executions) == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resumes/s")
	b.ReportMetric(startRate, "starts/s")
	b.ReportMetric(float64((cpuTime()-cpuResumed).Microseconds())/float64(b.N), "cpu-µs/resume")
	b.ReportMetric(float64(startCPU.Microseconds())/float64(b.N), "cpu-µs/start")
}

// cpuTime is the CPU time the process has used, which a busy machine inflates less than
// elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
