package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// machines is a StateMachines that keeps the executions it started and refuses a name twice,
// as Step Functions does.
type machines struct {
	mu    sync.Mutex
	names map[string]string // execution name → input
	order []string
	fail  error
}

func (m *machines) StartExecution(_ context.Context, arn, name, input string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return "", m.fail
	}
	if m.names == nil {
		m.names = map[string]string{}
	}
	key := arn + "|" + name
	if _, ok := m.names[key]; ok {
		return "", fmt.Errorf("execution %s: %w", name, ErrAlreadyStarted)
	}
	m.names[key] = input
	m.order = append(m.order, name)
	return arn + ":" + name, nil
}

func (m *machines) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.names)
}

type functions struct {
	mu       sync.Mutex
	payloads []string
}

func (f *functions) InvokeEvent(_ context.Context, fn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.payloads = append(f.payloads, fn+" "+string(payload))
	return nil
}

const machineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:m"

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "stepline.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newTestService(t *testing.T, st store.Store, clk clock.Clock, m *machines, scale float64) *Service {
	t.Helper()
	s, err := New(Options{Store: st, Clock: clk, StateMachines: m, Functions: &functions{}, WaitScale: scale})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ensureDefaultGroup(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func schedule(name, expr string) *ScheduleInput {
	in := &ScheduleInput{Name: name}
	in.ScheduleExpression = expr
	in.FlexibleTimeWindow.Mode = "OFF"
	in.Target = Target{Arn: machineArn, RoleArn: "arn:aws:iam::123456789012:role/r", Input: `{"t":"<aws.scheduler.scheduled-time>"}`}
	return in
}

// runUntil advances the fake clock in steps to end, firing what is due at each step, and
// returns the scheduled times of the executions started, in the zone loc.
func runUntil(t *testing.T, s *Service, clk *clock.Fake, step time.Duration, end time.Time) {
	t.Helper()
	for clk.T.Before(end) {
		clk.T = clk.T.Add(step)
		for {
			n, err := s.FireDue(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}

func scheduledTimes(t *testing.T, m *machines, loc *time.Location) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, name := range m.order {
		var in struct{ T string }
		if err := json.Unmarshal([]byte(m.names[machineArn+"|"+name]), &in); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339, in.T)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, at.In(loc).Format("01-02T15:04Z07:00"))
	}
	return strings.Join(out, " ")
}

// TestFireCronAcrossDST runs daily cron schedules in New York across both changes of 2026 on
// a fake clock: each fires at its wall-clock time, 02:30 not at all on the spring day, 01:30
// once on the autumn day.
func TestFireCronAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, c := range []struct {
		name, expr string
		from, to   time.Time
		want       string
	}{
		{"spring", "cron(30 2 * * ? *)", time.Date(2026, 3, 6, 12, 0, 0, 0, ny), time.Date(2026, 3, 10, 12, 0, 0, 0, ny),
			"03-07T02:30-05:00 03-09T02:30-04:00 03-10T02:30-04:00"},
		{"spring-9am", "cron(0 9 * * ? *)", time.Date(2026, 3, 6, 12, 0, 0, 0, ny), time.Date(2026, 3, 9, 12, 0, 0, 0, ny),
			"03-07T09:00-05:00 03-08T09:00-04:00 03-09T09:00-04:00"},
		{"autumn", "cron(30 1 * * ? *)", time.Date(2026, 10, 30, 12, 0, 0, 0, ny), time.Date(2026, 11, 2, 12, 0, 0, 0, ny),
			"10-31T01:30-04:00 11-01T01:30-04:00 11-02T01:30-05:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock.Fake{T: c.from}
			m := &machines{}
			s := newTestService(t, openSQLite(t), clk, m, 1)
			in := schedule("daily", c.expr)
			in.ScheduleExpressionTimezone = "America/New_York"
			if _, err := s.CreateSchedule(t.Context(), in); err != nil {
				t.Fatal(err)
			}
			runUntil(t, s, clk, 10*time.Minute, c.to)
			if got := scheduledTimes(t, m, ny); got != c.want {
				t.Errorf("fired at %s\nwant       %s", got, c.want)
			}
		})
	}
}

// TestAtFiresOnce: an at() schedule starts exactly one execution, however long the clock runs
// and however often the loop looks, and ActionAfterCompletion DELETE removes it after.
func TestAtFiresOnce(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	s := newTestService(t, openSQLite(t), clk, m, 1)
	keep := schedule("once", "at(2026-12-06T10:05:00)")
	gone := schedule("once-delete", "at(2026-12-06T10:05:00)")
	gone.ActionAfterCompletion = "DELETE"
	for _, in := range []*ScheduleInput{keep, gone} {
		if _, err := s.CreateSchedule(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	runUntil(t, s, clk, 30*time.Second, start.Add(4*time.Minute))
	if m.count() != 0 {
		t.Fatalf("%d executions before the time", m.count())
	}
	runUntil(t, s, clk, 30*time.Second, start.Add(time.Hour))
	if m.count() != 2 || scheduledTimes(t, m, time.UTC) != "12-06T10:05Z 12-06T10:05Z" {
		t.Fatalf("executions: %v", m.order)
	}
	if _, err := s.GetSchedule(t.Context(), "", "once"); err != nil {
		t.Fatalf("once after firing: %v", err)
	}
	if _, err := s.GetSchedule(t.Context(), "", "once-delete"); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("once-delete after firing: %v, want ResourceNotFoundException", err)
	}
}

// TestRateUnderWaitScale: rate(1 minute) at wait scale 0.01 fires every 0.6 s of clock time,
// from its creation, and stops once disabled.
func TestRateUnderWaitScale(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	s := newTestService(t, openSQLite(t), clk, m, 0.01)
	in := schedule("fast", "rate(1 minute)")
	if _, err := s.CreateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	runUntil(t, s, clk, 100*time.Millisecond, start.Add(3*time.Second))
	// At 0, 0.6, 1.2, 1.8, 2.4 and 3.0 s.
	if m.count() != 6 {
		t.Fatalf("%d firings in 3 s, want 6: %v", m.count(), m.order)
	}
	in.State = "DISABLED"
	if _, err := s.UpdateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	runUntil(t, s, clk, 100*time.Millisecond, start.Add(10*time.Second))
	if m.count() != 6 {
		t.Fatalf("%d firings after disabling, want 6", m.count())
	}
}

// TestCatchUpAfterDowntime: firings that fell due while nothing ran fire once each, late; those
// older than the maximum event age are dropped.
func TestCatchUpAfterDowntime(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	s := newTestService(t, openSQLite(t), clk, m, 1)
	in := schedule("every-minute", "rate(1 minute)")
	age := 300
	in.Target.RetryPolicy = &RetryPolicy{MaximumEventAgeInSeconds: &age}
	if _, err := s.CreateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	// Down for 10 minutes: the firings of 10:05:00 and later are within 300 s of 10:10:00.
	clk.T = start.Add(10 * time.Minute)
	for {
		n, err := s.FireDue(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if got := scheduledTimes(t, m, time.UTC); got != "12-06T10:05Z 12-06T10:06Z 12-06T10:07Z 12-06T10:08Z 12-06T10:09Z 12-06T10:10Z" {
		t.Fatalf("after downtime fired %s", got)
	}
}

// TestRetryThenGiveUp: a failing target is retried with backoff up to MaximumRetryAttempts,
// then the schedule moves to its next firing.
func TestRetryThenGiveUp(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{fail: fmt.Errorf("StateMachineDoesNotExist")}
	s := newTestService(t, openSQLite(t), clk, m, 1)
	var mu sync.Mutex
	var attempts []time.Time
	s.OnFire(func(f Firing) {
		mu.Lock()
		defer mu.Unlock()
		if f.Err != nil {
			attempts = append(attempts, f.At)
		}
	})
	in := schedule("failing", "cron(0 11 * * ? *)")
	retries := 2
	in.Target.RetryPolicy = &RetryPolicy{MaximumRetryAttempts: &retries}
	if _, err := s.CreateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	runUntil(t, s, clk, time.Second, start.Add(time.Hour+10*time.Second))
	if len(attempts) != 3 {
		t.Fatalf("%d attempts, want 3 (1 + 2 retries): %v", len(attempts), attempts)
	}
	row, err := s.o.Store.ScheduleGet(t.Context(), &store.ScheduleGetParams{Kind: store.ScheduleKindSchedule, Group: DefaultGroup, Name: "failing"})
	if err != nil || row.Attempt != 0 || !row.Nominal.Equal(start.Add(25*time.Hour)) {
		t.Fatalf("after giving up: %+v, %v", row, err)
	}
}

// TestTwoNodesFireOnce: two services on one store, firing concurrently, start each due firing
// of 50 schedules once.
func TestTwoNodesFireOnce(t *testing.T) {
	testTwoNodes(t, openSQLite(t))
}

func testTwoNodes(t *testing.T, st store.Store) { testTwoNodesOn(t, st, st) }

func testTwoNodesOn(t *testing.T, st, st2 store.Store) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	a := newTestService(t, st, clk, m, 1)
	b := newTestService(t, st2, clk, m, 1)
	const n = 50
	for i := range n {
		if _, err := a.CreateSchedule(t.Context(), schedule(fmt.Sprintf("s%02d", i), "cron(0/5 * * * ? *)")); err != nil {
			t.Fatal(err)
		}
	}
	// Each node claims a few at a time so that both get some.
	a.o.Batch, b.o.Batch = 7, 7
	for step := 1; step <= 3; step++ {
		clk.T = start.Add(time.Duration(step) * 5 * time.Minute)
		var wg sync.WaitGroup
		for _, s := range []*Service{a, b} {
			wg.Go(func() {
				for {
					k, err := s.FireDue(t.Context())
					if err != nil {
						t.Error(err)
						return
					}
					if k == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		// Created at 10:00:00, a firing time: 10:00 and 10:05 are due at the first step.
		if got := m.count(); got != n*(step+1) {
			t.Fatalf("after step %d: %d executions, want %d", step, got, n*(step+1))
		}
	}
}

// TestCrashBetweenStartAndAdvance: a node that started an execution and died before advancing
// the schedule leaves the firing claimed; once the claim expires another node carries it out
// again, finds the execution started, and only advances.
func TestCrashBetweenStartAndAdvance(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	st := openSQLite(t)
	s := newTestService(t, st, clk, m, 1)
	if _, err := s.CreateSchedule(t.Context(), schedule("x", "at(2026-12-06T10:01:00)")); err != nil {
		t.Fatal(err)
	}
	clk.T = start.Add(time.Minute)
	due, err := st.ScheduleClaimDue(t.Context(), &store.ScheduleClaimDueParams{Now: clk.T, Until: clk.T.Add(time.Minute), Limit: 10})
	if err != nil || len(due) != 1 {
		t.Fatalf("claim: %v, %v", due, err)
	}
	// The dead node's start, without its advance.
	if _, err := m.StartExecution(t.Context(), machineArn, firingName(due[0], *due[0].Nominal), "{}"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FireDue(t.Context()); n != 0 || err != nil {
		t.Fatalf("fired while claimed: %d, %v", n, err)
	}
	clk.T = clk.T.Add(2 * time.Minute)
	if n, err := s.FireDue(t.Context()); n != 1 || err != nil {
		t.Fatalf("after the claim expired: %d, %v", n, err)
	}
	if n, err := s.FireDue(t.Context()); n != 0 || err != nil {
		t.Fatalf("fired again: %d, %v", n, err)
	}
	if m.count() != 1 {
		t.Fatalf("%d executions, want 1", m.count())
	}
}

// TestFlexibleWindowAndLambda: a FLEXIBLE schedule fires within its window at an offset every
// node computes alike; a Lambda target gets the input.
func TestFlexibleWindowAndLambda(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	st := openSQLite(t)
	fns := &functions{}
	s, err := New(Options{Store: st, Clock: clk, StateMachines: &machines{}, Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ensureDefaultGroup(t.Context()); err != nil {
		t.Fatal(err)
	}
	in := schedule("flex", "cron(0 11 * * ? *)")
	in.Target.Arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	in.FlexibleTimeWindow.Mode = "FLEXIBLE"
	w := 15
	in.FlexibleTimeWindow.MaximumWindowInMinutes = &w
	if _, err := s.CreateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	row, err := st.ScheduleGet(t.Context(), &store.ScheduleGetParams{Kind: store.ScheduleKindSchedule, Group: DefaultGroup, Name: "flex"})
	if err != nil {
		t.Fatal(err)
	}
	nominal := start.Add(time.Hour)
	if !row.Nominal.Equal(nominal) || row.Due.Before(nominal) || !row.Due.Before(nominal.Add(15*time.Minute)) {
		t.Fatalf("nominal %v due %v", row.Nominal, row.Due)
	}
	runUntil(t, s, clk, time.Minute, nominal.Add(16*time.Minute))
	if len(fns.payloads) != 1 || fns.payloads[0] != `arn:aws:lambda:us-east-1:123456789012:function:f {"t":"2026-12-06T11:00:00Z"}` {
		t.Fatalf("invocations: %q", fns.payloads)
	}
}

func TestValidation(t *testing.T) {
	s := newTestService(t, openSQLite(t), &clock.Fake{T: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}, &machines{}, 1)
	bad := func(f func(in *ScheduleInput)) string {
		in := schedule("v", "rate(5 minutes)")
		f(in)
		_, err := s.CreateSchedule(t.Context(), in)
		if err == nil {
			return "accepted"
		}
		return err.Error()
	}
	for _, c := range []struct {
		f    func(in *ScheduleInput)
		want string
	}{
		{func(in *ScheduleInput) { in.ScheduleExpression = "rate(5 weeks)" }, "ValidationException: Invalid Schedule Expression rate(5 weeks)."},
		{func(in *ScheduleInput) { in.Name = "a b" }, "ValidationException: 1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"},
		{func(in *ScheduleInput) { in.ScheduleExpressionTimezone = "Mars/Olympus" }, "ValidationException: Invalid time zone Mars/Olympus."},
		{func(in *ScheduleInput) { in.FlexibleTimeWindow.Mode = "FLEXIBLE" }, "ValidationException: MaximumWindowInMinutes must be provided when Mode is FLEXIBLE."},
		{func(in *ScheduleInput) { in.GroupName = "nope" }, "ResourceNotFoundException: Schedule group nope does not exist."},
		{func(in *ScheduleInput) { in.State = "PAUSED" }, "ValidationException: 1 validation error detected: Value 'PAUSED' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"},
	} {
		if got := bad(c.f); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	if _, err := s.CreateSchedule(t.Context(), schedule("v", "rate(5 minutes)")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSchedule(t.Context(), schedule("v", "rate(5 minutes)")); err == nil || err.Error() != "ConflictException: Schedule v already exists." {
		t.Fatalf("second create: %v", err)
	}
	list, _, err := s.ListSchedules(t.Context(), &ListSchedulesInput{})
	if err != nil || len(list) != 1 || list[0].Name != "v" || list[0].State != "ENABLED" || !slices.ContainsFunc(list, func(x ScheduleSummary) bool { return x.Target.Arn == machineArn }) {
		t.Fatalf("list: %+v, %v", list, err)
	}
}

// TestRateWithFractionalStartFiresOncePerInterval: a rate() anchored on a StartDate with a
// fraction of a second fires once per interval — the anchor and the stored firing times agree
// to the microsecond, so no firing comes back a microsecond later under another name.
func TestRateWithFractionalStartFiresOncePerInterval(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	s := newTestService(t, openSQLite(t), clk, m, 1)
	for i := range 50 {
		in := schedule(fmt.Sprintf("r%02d", i), "rate(1 minute)")
		at := start.Add(time.Second + time.Duration(i)*time.Minute/7919)
		in.SetDates(&at, nil)
		if _, err := s.CreateSchedule(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	runUntil(t, s, clk, 10*time.Millisecond, start.Add(30*time.Second))
	if m.count() != 50 {
		t.Fatalf("%d firings in the first interval, want 50: %v", m.count(), m.order)
	}
}

// TestUniversalTargets: arn:aws:scheduler:::aws-sdk:sfn:startExecution starts the state
// machine its input names, with the input inside; aws-sdk:lambda:invoke invokes the function
// with the payload.
func TestUniversalTargets(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	fns := &functions{}
	s, err := New(Options{Store: openSQLite(t), Clock: clk, StateMachines: m, Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	sfn := schedule("universal-sfn", "at(2026-12-06T10:01:00)")
	sfn.Target.Arn = "arn:aws:scheduler:::aws-sdk:sfn:startExecution"
	sfn.Target.Input = `{"StateMachineArn":"` + machineArn + `","Input":"{\"t\":\"<aws.scheduler.scheduled-time>\"}"}`
	lam := schedule("universal-lambda", "at(2026-12-06T10:01:00)")
	lam.Target.Arn = "arn:aws:scheduler:::aws-sdk:lambda:invoke"
	lam.Target.Input = `{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:f","Payload":"{\"n\":1}"}`
	for _, in := range []*ScheduleInput{sfn, lam} {
		if _, err := s.CreateSchedule(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	runUntil(t, s, clk, 30*time.Second, start.Add(2*time.Minute))
	if got := scheduledTimes(t, m, time.UTC); got != "12-06T10:01Z" {
		t.Errorf("state machine firings: %s", got)
	}
	if len(fns.payloads) != 1 || fns.payloads[0] != `arn:aws:lambda:us-east-1:123456789012:function:f {"n":1}` {
		t.Errorf("invocations: %q", fns.payloads)
	}
	bad := schedule("universal-bad", "rate(1 day)")
	bad.Target.Arn = "arn:aws:scheduler:::aws-sdk:sfn:startExecution"
	bad.Target.Input = `{}`
	if _, err := s.CreateSchedule(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("a universal target naming nothing: %v", err)
	}
}

// TestLambdaFiringAfterExpiredClaim: two nodes hold claims of the same Lambda firing (the
// first one's expired while it was slow); only the one whose advance wins invokes.
func TestLambdaFiringAfterExpiredClaim(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	st := openSQLite(t)
	fns := &functions{}
	s, err := New(Options{Store: st, Clock: clk, StateMachines: &machines{}, Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	in := schedule("fn", "at(2026-12-06T10:01:00)")
	in.Target.Arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	if _, err := s.CreateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	clk.T = start.Add(time.Minute)
	slow, err := st.ScheduleClaimDue(t.Context(), &store.ScheduleClaimDueParams{Now: clk.T, Until: clk.T.Add(time.Second), Limit: 1})
	if err != nil || len(slow) != 1 {
		t.Fatalf("first claim: %v, %v", slow, err)
	}
	clk.T = clk.T.Add(2 * time.Second) // the first claim expired
	if n, err := s.FireDue(t.Context()); n != 1 || err != nil {
		t.Fatalf("second node: %d, %v", n, err)
	}
	// The slow node carries out its stale claim now.
	if err := s.fire(t.Context(), slow[0]); err != nil {
		t.Fatal(err)
	}
	if len(fns.payloads) != 1 {
		t.Fatalf("%d invocations, want 1", len(fns.payloads))
	}
}

func TestMetrics(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clk := &clock.Fake{T: start}
	m := &machines{}
	s := newTestService(t, openSQLite(t), clk, m, 1)
	if _, err := s.CreateSchedule(t.Context(), schedule("x", "cron(* * * * ? *)")); err != nil {
		t.Fatal(err)
	}
	runUntil(t, s, clk, 20*time.Second, start.Add(3*time.Minute))
	var b strings.Builder
	if _, err := s.WriteMetrics(&b); err != nil {
		t.Fatal(err)
	}
	// 10:00 (created at that instant; carried out at the first step, 20 s late), 10:01, 10:02, 10:03.
	for _, want := range []string{`stepline_scheduler_firings_total{outcome="started"} 4`, `stepline_scheduler_firings_total{outcome="again"} 0`,
		`stepline_scheduler_firing_lag_seconds_bucket{le="0.1"} 3`, `stepline_scheduler_firing_lag_seconds_bucket{le="30"} 4`,
		`stepline_scheduler_firing_lag_seconds_sum 20`, `stepline_scheduler_firing_lag_seconds_count 4`} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, b.String())
		}
	}
}

// TestAtInThePast: CreateSchedule refuses an at() whose time has passed; a project's deploy
// (PutSchedule) of one leaves things as they are.
func TestAtInThePast(t *testing.T) {
	s := newTestService(t, openSQLite(t), &clock.Fake{T: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}, &machines{}, 1)
	_, err := s.CreateSchedule(t.Context(), schedule("late", "at(2026-12-06T09:59:59)"))
	if err == nil || err.Error() != "ValidationException: The schedule expression at(2026-12-06T09:59:59) is in the past." {
		t.Fatalf("CreateSchedule: %v", err)
	}
	// In Paris it is 11:00: 10:30 there has passed too.
	in := schedule("late-paris", "at(2026-12-06T10:30:00)")
	in.ScheduleExpressionTimezone = "Europe/Paris"
	if _, err := s.CreateSchedule(t.Context(), in); err == nil {
		t.Fatal("an at() past in its zone was accepted")
	}
	if res, err := s.PutSchedule(t.Context(), schedule("late", "at(2026-12-06T09:59:59)")); err != nil || res != PutUnchanged {
		t.Fatalf("PutSchedule: %v, %v", res, err)
	}
	if _, err := s.GetSchedule(t.Context(), "", "late"); err == nil {
		t.Fatal("PutSchedule created a schedule that cannot fire")
	}
}
