package inproc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/interp"
)

const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func run(t *testing.T, ctx context.Context, def string, o Options) (*Result, error) {
	t.Helper()
	d, err := asl.Parse([]byte(def), asl.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o.Definition, o.Input, o.StateMachineName, o.ExecutionName = d, `{}`, "sm", "x"
	o.Account, o.Region = "123456789012", "us-east-1"
	if o.Clock == nil {
		o.Clock = &clock.Fake{T: start}
	}
	return Run(ctx, o)
}

func types(r *Result) string {
	var ts []string
	for _, e := range r.Events {
		ts = append(ts, e.Type)
	}
	return strings.Join(ts, " ")
}

func eventAt(t *testing.T, r *Result, typ string) time.Time {
	t.Helper()
	for _, e := range r.Events {
		if e.Type == typ {
			return e.Timestamp
		}
	}
	t.Fatalf("no %s in %s", typ, types(r))
	return time.Time{}
}

// instant is a task clock whose sleeps end at once: a timer always comes due before a task
// that has not answered yet. Unlike clock.Fake it is safe to use from several goroutines.
type instant struct{}

func (instant) Now() time.Time                                   { return start }
func (instant) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// TestParallelTasksRunConcurrently: each branch's task waits for the other to have started,
// which only works if they run at once; both are recorded started before either succeeds.
func TestParallelTasksRunConcurrently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	task := func(ctx context.Context, s interp.ScheduleTask) interp.Event {
		arrived.Done()
		select {
		case <-both:
			return interp.TaskSucceeded{TaskID: s.TaskID, Output: `"` + s.StateName + `"`}
		case <-ctx.Done():
			return interp.TaskFailed{TaskID: s.TaskID, Error: "Test", Cause: "the other branch never started"}
		}
	}
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","End":true}}},
		{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"` + fn + `","End":true}}}]}}}`
	res, err := run(t, ctx, def, Options{RunTask: task})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != interp.Succeeded || *res.Output != `["A","B"]` {
		t.Fatalf("status %s output %v; events %s", res.Status, res.Output, types(res))
	}
	got := types(res)
	want := "LambdaFunctionScheduled TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionStarted LambdaFunctionSucceeded"
	if !strings.Contains(got, want) {
		t.Fatalf("events %s\nwant them to contain %s", got, want)
	}
}

// TestTimeoutWhileInFlight: a task that never answers times out after its TimeoutSeconds of
// virtual time, recorded started first, as AWS records a Lambda that outlived its timeout.
func TestTimeoutWhileInFlight(t *testing.T) {
	blocked := func(ctx context.Context, s interp.ScheduleTask) interp.Event {
		<-ctx.Done()
		return interp.TaskFailed{TaskID: s.TaskID, Error: "Test", Cause: "abandoned"}
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `","TimeoutSeconds":5,"End":true}}}`
	for _, tt := range []struct {
		name string
		o    Options
	}{
		{"skipped time", Options{TaskClock: instant{}}},
		// 5 s at scale 0.001 are 5 ms of real time.
		{"scaled real time", Options{WaitScale: 0.001}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.o.RunTask = blocked
			res, err := run(t, ctx, def, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != interp.Failed || *res.Error != "States.Timeout" {
				t.Fatalf("status %s error %v", res.Status, res.Error)
			}
			if !strings.Contains(types(res), "LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionTimedOut") {
				t.Fatalf("events %s", types(res))
			}
			if d := eventAt(t, res, "LambdaFunctionTimedOut").Sub(start); d != 5*time.Second {
				t.Fatalf("timed out after %v of virtual time, want 5s", d)
			}
		})
	}
}

// TestQuickTaskBeatsLongTimeout: with waits skipped, a task that takes real time is not
// beaten by its 300 s timeout, and the virtual clock moved on by the time it took.
func TestQuickTaskBeatsLongTimeout(t *testing.T) {
	const work = 50 * time.Millisecond
	quick := func(ctx context.Context, s interp.ScheduleTask) interp.Event {
		if err := (clock.Real{}).Sleep(ctx, work); err != nil { // the task's own work
			return interp.TaskFailed{TaskID: s.TaskID, Error: "Test", Cause: err.Error()}
		}
		return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{"ok":true}`}
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `","TimeoutSeconds":300,"Next":"W"},
		"W":{"Type":"Wait","Seconds":3600,"End":true}}}`
	res, err := run(t, context.Background(), def, Options{RunTask: quick})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != interp.Succeeded {
		t.Fatalf("status %s error %v cause %v", res.Status, res.Error, res.Cause)
	}
	took := eventAt(t, res, "LambdaFunctionSucceeded").Sub(start)
	if took < work.Truncate(time.Millisecond) || took >= 300*time.Second {
		t.Fatalf("task succeeded %v after it started, want at least %v", took, work)
	}
	// Once no task runs, time is skipped again: the hour's Wait took none.
	if d := eventAt(t, res, "ExecutionSucceeded").Sub(start); d < time.Hour {
		t.Fatalf("execution ended %v after start, want the Wait's hour in virtual time", d)
	}
}

// TestCancelWhileInFlight: cancelling the run returns at once, the task abandoned.
func TestCancelWhileInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	stuck := func(_ context.Context, s interp.ScheduleTask) interp.Event {
		close(started)
		<-release // ignores its ctx: Run must not wait for it
		return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{}`}
	}
	go func() { <-started; cancel() }()
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `","End":true}}}`
	_, err := run(t, ctx, def, Options{RunTask: stuck})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestResultOfCancelledTaskDropped: a task that timed out and answers later changes nothing,
// and time does not wait for it once the execution waits on a timer.
func TestResultOfCancelledTaskDropped(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	late := func(_ context.Context, s interp.ScheduleTask) interp.Event {
		<-release
		return interp.TaskSucceeded{TaskID: s.TaskID, Output: `"late"`}
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `","TimeoutSeconds":1,
		"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"W"}],"End":true},
		"W":{"Type":"Wait","Seconds":10,"Next":"Done"},"Done":{"Type":"Pass","End":true}}}`
	res, err := run(t, context.Background(), def, Options{TaskClock: instant{}, RunTask: late})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != interp.Succeeded || strings.Contains(*res.Output, "late") {
		t.Fatalf("status %s output %v events %s", res.Status, res.Output, types(res))
	}
}

// TestNoRunner: without a runner every task fails as before, naming the resource.
func TestNoRunner(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `","End":true}}}`
	res, err := run(t, context.Background(), def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != interp.Failed || *res.Error != "States.TaskFailed" || !strings.Contains(*res.Cause, fn) {
		t.Fatalf("status %s error %v cause %v", res.Status, res.Error, res.Cause)
	}
}
