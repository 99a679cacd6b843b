package interp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func identity() interp.Identity {
	return interp.Identity{
		ExecutionArn:     "arn:aws:states:us-east-1:123456789012:execution:sm:exec",
		Name:             "exec",
		StateMachineArn:  "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
		StateMachineName: "sm",
		RoleArn:          "arn:aws:iam::123456789012:role/r",
		Region:           "us-east-1",
		Account:          "123456789012",
		StartTime:        t0,
	}
}

func mustParse(t testing.TB, def string) *asl.StateMachine {
	t.Helper()
	sm, err := asl.Parse([]byte(def), asl.ParseOptions{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return sm
}

// drive runs an execution to its end, answering tasks with answer and firing timers in due order.
func drive(t testing.TB, def *asl.StateMachine, input string, answer func(interp.ScheduleTask) interp.Event) (*interp.Execution, []history.Event) {
	return driveWith(t, def, input, answer, false)
}

// driveWith is drive; with restore set, the execution goes through Snapshot and Restore before
// every Step, as it does in the durable engine.
func driveWith(t testing.TB, def *asl.StateMachine, input string, answer func(interp.ScheduleTask) interp.Event, restore bool) (*interp.Execution, []history.Event) {
	t.Helper()
	x, res, err := interp.Start(def, identity(), input, t0)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	events := res.Events
	now := t0
	type timer struct {
		id  string
		due time.Time
	}
	var timers []timer
	var inbox []interp.Event
	handle := func(effects []interp.Effect) {
		for _, e := range effects {
			switch e := e.(type) {
			case interp.StartTimer:
				timers = append(timers, timer{e.TimerID, e.Due})
			case interp.CancelTimer:
				for i := range timers {
					if timers[i].id == e.TimerID {
						timers = append(timers[:i], timers[i+1:]...)
						break
					}
				}
			case interp.ScheduleTask:
				inbox = append(inbox, answer(e))
			}
		}
	}
	handle(res.Effects)
	for x.Status == interp.Running {
		var ev interp.Event
		if len(inbox) > 0 {
			ev, inbox = inbox[0], inbox[1:]
		} else {
			if len(timers) == 0 {
				t.Fatalf("execution stuck")
			}
			best := 0
			for i := range timers {
				if timers[i].due.Before(timers[best].due) {
					best = i
				}
			}
			tm := timers[best]
			timers = append(timers[:best], timers[best+1:]...)
			if tm.due.After(now) {
				now = tm.due
			}
			ev = interp.TimerFired{TimerID: tm.id}
		}
		if restore {
			snap, err := x.Snapshot()
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if x, err = interp.Restore(def, snap); err != nil {
				t.Fatalf("Restore: %v\n%s", err, snap)
			}
		}
		res, err := interp.Step(x, ev, now)
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		events = append(events, res.Events...)
		handle(res.Effects)
	}
	return x, events
}

func noTasks(t testing.TB) func(interp.ScheduleTask) interp.Event {
	return func(st interp.ScheduleTask) interp.Event {
		t.Fatalf("unexpected task %s", st.Resource)
		return nil
	}
}

func types(events []history.Event) string {
	var b strings.Builder
	for i, e := range events {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d<%d:%s", e.ID, e.PreviousEventID, e.Type)
	}
	return b.String()
}

func TestExecutions(t *testing.T) {
	for _, tc := range []struct {
		name, def, input string
		status           interp.Status
		output           string
		errName, cause   string
		events           string
	}{
		{
			name:   "pass chain with result path",
			def:    `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1},"ResultPath":"$.r","Next":"B"},"B":{"Type":"Pass","OutputPath":"$.r","End":true}}}`,
			input:  `{"in": true}`,
			status: interp.Succeeded, output: `{"x":1}`,
			events: "1<0:ExecutionStarted 2<0:PassStateEntered 3<2:PassStateExited 4<3:PassStateEntered 5<4:PassStateExited 6<5:ExecutionSucceeded",
		},
		{
			name:   "choice default and fail",
			def:    `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":5,"Next":"Big"}],"Default":"Small"},"Big":{"Type":"Succeed"},"Small":{"Type":"Fail","Error":"TooSmall","Cause":"n <= 5"}}}`,
			input:  `{"n": 3}`,
			status: interp.Failed, errName: "TooSmall", cause: "n <= 5",
			events: "1<0:ExecutionStarted 2<0:ChoiceStateEntered 3<2:ChoiceStateExited 4<3:FailStateEntered 5<4:ExecutionFailed",
		},
		{
			name:   "no choice matched",
			def:    `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}`,
			input:  `{"n": 2}`,
			status: interp.Failed, errName: "States.NoChoiceMatched",
			cause: "An error occurred while executing the state 'C' (entered at the event id #2). No Matches!",
		},
		{
			name:   "wait then succeed",
			def:    `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"Next":"S"},"S":{"Type":"Succeed"}}}`,
			input:  `[1,2]`,
			status: interp.Succeeded, output: `[1,2]`,
			events: "1<0:ExecutionStarted 2<0:WaitStateEntered 3<2:WaitStateExited 4<3:SucceedStateEntered 5<4:SucceedStateExited 6<5:ExecutionSucceeded",
		},
		{
			name:   "map keeps order and links iterations",
			def:    `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input:  `[1,"a"]`,
			status: interp.Succeeded, output: `[1,"a"]`,
			events: "1<0:ExecutionStarted 2<0:MapStateEntered 3<2:MapStateStarted 4<3:MapIterationStarted 5<4:PassStateEntered 6<5:PassStateExited 7<6:MapIterationSucceeded 8<6:MapIterationStarted 9<8:PassStateEntered 10<9:PassStateExited 11<10:MapIterationSucceeded 12<11:MapStateSucceeded 13<11:MapStateExited 14<13:ExecutionSucceeded",
		},
		{
			name:   "parallel collects branch outputs in order",
			def:    `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"a","End":true}}},{"StartAt":"B","States":{"B":{"Type":"Pass","Result":"b","End":true}}}],"End":true}}}`,
			input:  `{}`,
			status: interp.Succeeded, output: `["a","b"]`,
		},
		{
			name:   "map iteration failure is caught",
			def:    `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","Cause":"C"}}},"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"S"}],"End":true},"S":{"Type":"Pass","End":true}}}`,
			input:  `[1]`,
			status: interp.Failed, errName: "States.ResultPathMatchFailure",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, events := drive(t, mustParse(t, tc.def), tc.input, noTasks(t))
			if x.Status != tc.status {
				t.Fatalf("status %s, want %s (error %v cause %v)", x.Status, tc.status, deref(x.Error), deref(x.Cause))
			}
			if tc.output != "" && deref(x.Output) != tc.output {
				t.Errorf("output %s, want %s", deref(x.Output), tc.output)
			}
			if tc.errName != "" && deref(x.Error) != tc.errName {
				t.Errorf("error %s, want %s", deref(x.Error), tc.errName)
			}
			if tc.cause != "" && deref(x.Cause) != tc.cause {
				t.Errorf("cause %q, want %q", deref(x.Cause), tc.cause)
			}
			if tc.events != "" && types(events) != tc.events {
				t.Errorf("events\n got %s\nwant %s", types(events), tc.events)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestTaskRetryThenCatch(t *testing.T) {
	def := mustParse(t, `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},
			"Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":2,"MaxAttempts":2,"BackoffRate":3}],
			"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
		"Caught":{"Type":"Pass","End":true}}}`)
	var calls []time.Time
	x, events := drive(t, def, `{"k":"v"}`, func(st interp.ScheduleTask) interp.Event {
		if st.Resource != "arn:aws:states:::lambda:invoke" {
			t.Errorf("resource %s", st.Resource)
		}
		calls = append(calls, time.Time{})
		return interp.TaskFailed{TaskID: st.TaskID, Error: "Boom", Cause: "bad"}
	})
	if x.Status != interp.Succeeded || deref(x.Output) != `{"Error":"Boom","Cause":"bad"}` {
		t.Fatalf("status %s output %s", x.Status, deref(x.Output))
	}
	if len(calls) != 3 {
		t.Errorf("%d task calls, want 3 (1 + 2 retries)", len(calls))
	}
	// Retries wait 2 s then 6 s: the catch happens 8 s after the start.
	last := events[len(events)-1]
	if got := last.Timestamp.Sub(t0); got != 8*time.Second {
		t.Errorf("finished after %v, want 8s", got)
	}
	want := "TaskStateEntered TaskScheduled TaskStarted TaskFailed TaskScheduled TaskStarted TaskFailed TaskScheduled TaskStarted TaskFailed TaskStateExited PassStateEntered PassStateExited ExecutionSucceeded"
	var got []string
	for _, e := range events[1:] {
		got = append(got, e.Type)
	}
	if strings.Join(got, " ") != want {
		t.Errorf("events\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestTaskTimeout(t *testing.T) {
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","TimeoutSeconds":5,"End":true}}}`)
	x, _, err := interp.Start(def, identity(), `{}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := interp.Step(x, interp.TimerFired{TimerID: "no-such-timer"}, t0)
	if len(res.Events) != 0 || x.Status != interp.Running {
		t.Fatalf("an unknown timer changed the execution")
	}
	var timer string
	var task interp.ScheduleTask
	x2, start, _ := interp.Start(def, identity(), `{}`, t0)
	for _, e := range start.Effects {
		if st, ok := e.(interp.StartTimer); ok && !st.Quota {
			timer = st.TimerID
			if !st.Due.Equal(t0.Add(5 * time.Second)) {
				t.Errorf("timeout due %v", st.Due)
			}
		}
		if st, ok := e.(interp.ScheduleTask); ok {
			task = st
			if st.Token == "" {
				t.Errorf("a waitForTaskToken task has no token")
			}
		}
	}
	res, err = interp.Step(x2, interp.TimerFired{TimerID: timer}, t0.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if x2.Status != interp.Failed || deref(x2.Error) != "States.Timeout" {
		t.Fatalf("status %s error %s", x2.Status, deref(x2.Error))
	}
	// The task that timed out is withdrawn with its token, which a caller may still hold.
	cancelled := false
	for _, e := range res.Effects {
		cancelled = cancelled || e == interp.Effect(interp.CancelTask{TaskID: task.TaskID, Token: task.Token})
	}
	if !cancelled {
		t.Errorf("effects of the timeout %v lack the task's CancelTask with its token", res.Effects)
	}
	if _, err := interp.Step(x2, interp.TimerFired{TimerID: timer}, t0); err == nil {
		t.Errorf("Step on a finished execution did not fail")
	}
}

func TestInvalidInput(t *testing.T) {
	def := mustParse(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	if _, _, err := interp.Start(def, identity(), `{"a":`, t0); err == nil {
		t.Fatal("Start accepted input that is not JSON")
	}
}

// TestSnapshotRestore runs executions that wait inside Map iterations and Parallel branches
// straight through and through a snapshot before every step: the histories must be identical.
func TestSnapshotRestore(t *testing.T) {
	def := mustParse(t, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,"ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value"},
			"ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.v","Next":"T"},
				"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":30,"Retry":[{"ErrorEquals":["Flaky"],"MaxAttempts":2}],"End":true}}},"End":true}}},
		{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work","HeartbeatSeconds":5,"End":true}}}],
		"ResultSelector":{"mapped.$":"$[0]","activity.$":"$[1]"},"End":true}}}`)
	answer := func() func(interp.ScheduleTask) interp.Event {
		calls := map[string]int{}
		return func(st interp.ScheduleTask) interp.Event {
			calls[st.StateName]++
			if st.StateName == "T" && calls["T"]%2 == 1 {
				return interp.TaskFailed{TaskID: st.TaskID, Error: "Flaky", Cause: "try again"}
			}
			return interp.TaskSucceeded{TaskID: st.TaskID, Output: jsonText(st)}
		}
	}
	input := `[3, 1, 2]`
	x1, straight := driveWith(t, def, input, answer(), false)
	x2, restored := driveWith(t, def, input, answer(), true)
	if x1.Status != interp.Succeeded || x2.Status != interp.Succeeded {
		t.Fatalf("status %s / %s: %s %s", x1.Status, x2.Status, deref(x1.Cause), deref(x2.Cause))
	}
	a := string(history.AppendEvents(nil, straight, true))
	b := string(history.AppendEvents(nil, restored, true))
	if a != b {
		t.Errorf("histories differ\nstraight %s\nrestored %s", a, b)
	}
	if deref(x1.Output) != deref(x2.Output) {
		t.Errorf("outputs differ: %s / %s", deref(x1.Output), deref(x2.Output))
	}
}

func jsonText(st interp.ScheduleTask) string {
	return `{"echo":` + string(jsonv.Append(nil, st.Parameters)) + `}`
}

func TestRestoreRejectsForeignSnapshot(t *testing.T) {
	def := mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}}`)
	other := mustParse(t, `{"StartAt":"X","States":{"X":{"Type":"Wait","Seconds":5,"End":true}}}`)
	x, _, err := interp.Start(def, identity(), `{}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := interp.Restore(other, snap); !errors.Is(err, interp.ErrSnapshot) {
		t.Errorf("Restore with another definition: %v, want ErrSnapshot", err)
	}
	if _, err := interp.Restore(def, []byte(`{"threads":[{`)); !errors.Is(err, interp.ErrSnapshot) {
		t.Errorf("Restore of garbage: %v, want ErrSnapshot", err)
	}
}
