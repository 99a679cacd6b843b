package interp_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
)

const historyLimitCause = "The execution reached the maximum number of history events (25000)."

// waitLoop waits a second and loops forever, one Step a round of four events.
const waitLoop = `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"C"},
	"C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"W"},"Done":{"Type":"Succeed"}}}`

// counterLoop counts $.i up in a Pass and a Choice (four events a round) until it reaches
// rounds, then ends in a Succeed state: 4×rounds+4 events in all.
func counterLoop(rounds int) string {
	return fmt.Sprintf(`{"StartAt":"Inc","States":{
		"Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"Check"},
		"Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericGreaterThanEquals":%d,"Next":"Done"}],"Default":"Inc"},
		"Done":{"Type":"Succeed"}}}`, rounds)
}

// runTimers runs an execution to its end as a runner on virtual time does: it fires timers in
// due order and moves the time to each. Tasks are not expected.
func runTimers(t *testing.T, x *interp.Execution, res interp.Result, now time.Time) []history.Event {
	t.Helper()
	events := res.Events
	timers := map[string]time.Time{}
	apply := func(effects []interp.Effect) {
		for _, ef := range effects {
			switch ef := ef.(type) {
			case interp.StartTimer:
				timers[ef.TimerID] = ef.Due
			case interp.CancelTimer:
				delete(timers, ef.TimerID)
			case interp.ScheduleTask:
				t.Fatalf("unexpected task %s", ef.Resource)
			}
		}
	}
	apply(res.Effects)
	for x.Status == interp.Running {
		next := ""
		for id, due := range timers {
			if next == "" || due.Before(timers[next]) {
				next = id
			}
		}
		if next == "" {
			t.Fatal("execution stuck")
		}
		if due := timers[next]; due.After(now) {
			now = due
		}
		delete(timers, next)
		res, err := interp.Step(x, interp.TimerFired{TimerID: next}, now)
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		events = append(events, res.Events...)
		apply(res.Effects)
	}
	return events
}

func TestHistoryLimit(t *testing.T) {
	spin := `{"StartAt":"Loop","States":{"Loop":{"Type":"Choice","Choices":[{"Variable":"$.spin","BooleanEquals":true,"Next":"Loop"}],"Default":"Done"},"Done":{"Type":"Succeed"}}}`
	for _, tc := range []struct {
		name, def, input string
		express          bool
		status           interp.Status
		events           int
		// last is the type of the event before the end, the last the machine produced.
		last string
	}{
		// As AWS recorded it: event 24,999 is the Choice's exit, 25,000 the failure.
		{name: "a Choice spinning forever", def: spin, input: `{"spin":true}`, status: interp.Failed, events: interp.MaxHistoryEvents, last: "ChoiceStateExited"},
		{name: "a Pass and a Choice looping forever", input: `{}`,
			def:    `{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"P"},"Done":{"Type":"Succeed"}}}`,
			status: interp.Failed, events: interp.MaxHistoryEvents, last: "PassStateExited"},
		{name: "a Wait looping forever, one Step a round", input: `{}`,
			def:    waitLoop,
			status: interp.Failed, events: interp.MaxHistoryEvents, last: "WaitStateExited"},
		{name: "the limit where a Task would be entered", input: `{"i":0}`,
			def: `{"StartAt":"Inc","States":{
				"Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"Check"},
				"Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericGreaterThanEquals":6249,"Next":"Before"}],"Default":"Inc"},
				"Before":{"Type":"Pass","Next":"T"},
				"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}`,
			status: interp.Failed, events: interp.MaxHistoryEvents, last: "PassStateExited"},
		{name: "ExecutionSucceeded as the last event allowed", def: counterLoop(6249), input: `{"i":0}`,
			status: interp.Succeeded, events: interp.MaxHistoryEvents, last: "SucceedStateExited"},
		{name: "one round more", def: counterLoop(6250), input: `{"i":0}`,
			status: interp.Failed, events: interp.MaxHistoryEvents, last: "PassStateExited"},
		{name: "Express has no history limit", def: counterLoop(6250), input: `{"i":0}`, express: true,
			status: interp.Succeeded, events: interp.MaxHistoryEvents + 4, last: "SucceedStateExited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := identity()
			id.Express = tc.express
			x, res, err := interp.Start(mustParse(t, tc.def), id, tc.input, t0)
			if err != nil {
				t.Fatal(err)
			}
			events := runTimers(t, x, res, t0)
			if x.Status != tc.status || len(events) != tc.events {
				t.Fatalf("status %s with %d events, want %s with %d", x.Status, len(events), tc.status, tc.events)
			}
			end, last := events[len(events)-1], events[len(events)-2]
			if end.ID != int64(tc.events) || last.Type != tc.last || end.PreviousEventID != last.ID {
				t.Fatalf("history ends %s", types(events[len(events)-2:]))
			}
			if tc.status != interp.Failed {
				return
			}
			if end.Type != "ExecutionFailed" || deref(end.Details.Error) != "States.Runtime" || deref(end.Details.Cause) != historyLimitCause {
				t.Fatalf("last event %s %s %s", end.Type, deref(end.Details.Error), deref(end.Details.Cause))
			}
			if deref(x.Error) != "States.Runtime" || deref(x.Cause) != historyLimitCause {
				t.Errorf("execution error %s cause %s", deref(x.Error), deref(x.Cause))
			}
		})
	}
}

// TestHistoryLimitSnapshot checks that an execution ended by the history limit is stored as
// ended and cannot be redriven, as AWS refuses with "Execution history event limit exceeded".
func TestHistoryLimitSnapshot(t *testing.T) {
	def := mustParse(t, waitLoop)
	x, events := driveWith(t, def, `{}`, noTasks(t), true)
	if x.Status != interp.Failed || len(events) != interp.MaxHistoryEvents {
		t.Fatalf("status %s with %d events", x.Status, len(events))
	}
	snap, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := interp.Step(x, interp.TimerFired{TimerID: "timer-quota"}, t0); !errors.Is(err, interp.ErrNotRunning) {
		t.Errorf("Step after the limit: %v", err)
	}
	if _, _, err := interp.Redrive(def, snap, encode(events), nil, t0.Add(time.Hour)); !errors.Is(err, interp.ErrNotRedrivable) {
		t.Errorf("Redrive after the limit: %v", err)
	}
}

func TestMaxDuration(t *testing.T) {
	const twoYears = 2 * 365 * 24 * 3600
	for _, tc := range []struct {
		name    string
		def     string
		express bool
		quota   bool // whether Start starts the quota's timer
		status  interp.Status
		end     time.Duration // when the execution ends, after t0
	}{
		{name: "a Wait of two years times out after one",
			def:   fmt.Sprintf(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":%d,"End":true}}}`, twoYears),
			quota: true, status: interp.TimedOut, end: interp.MaxDuration},
		{name: "TimeoutSeconds above a year ends at a year",
			def:   fmt.Sprintf(`{"TimeoutSeconds":%d,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":99999999,"End":true}}}`, twoYears),
			quota: true, status: interp.TimedOut, end: interp.MaxDuration},
		{name: "TimeoutSeconds within a year needs no quota",
			def:    `{"TimeoutSeconds":3600,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":7200,"End":true}}}`,
			status: interp.TimedOut, end: time.Hour},
		{name: "an execution that ends at once needs no quota",
			def:    `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			status: interp.Succeeded},
		{name: "Express times out after five minutes", express: true,
			def:   `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`,
			quota: true, status: interp.TimedOut, end: interp.ExpressMaxDuration},
		{name: "Express within five minutes", express: true,
			def:   `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":240,"End":true}}}`,
			quota: true, status: interp.Succeeded, end: 4 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := identity()
			id.Express = tc.express
			x, res, err := interp.Start(mustParse(t, tc.def), id, `{}`, t0)
			if err != nil {
				t.Fatal(err)
			}
			quota := false
			for _, ef := range res.Effects {
				if st, ok := ef.(interp.StartTimer); ok && st.Quota {
					quota = true
					want := interp.MaxDuration
					if tc.express {
						want = interp.ExpressMaxDuration
					}
					if !st.Due.Equal(t0.Add(want)) {
						t.Errorf("quota due %v", st.Due)
					}
				}
			}
			if quota != tc.quota {
				t.Errorf("quota timer started: %v, want %v", quota, tc.quota)
			}
			events := runTimers(t, x, res, t0)
			end := events[len(events)-1]
			if x.Status != tc.status || !end.Timestamp.Equal(t0.Add(tc.end)) {
				t.Fatalf("status %s at %v, want %s at %v", x.Status, end.Timestamp, tc.status, t0.Add(tc.end))
			}
			if tc.status == interp.TimedOut && (end.Type != "ExecutionTimedOut" || deref(end.Details.Error) != "States.Timeout" || end.Details.Cause != nil) {
				t.Fatalf("last event %s %s %s", end.Type, deref(end.Details.Error), deref(end.Details.Cause))
			}
		})
	}
}

// TestMaxDurationRedrive checks that a redrive keeps the quota counted from the first start,
// and that an execution older than the quota cannot be redriven ("Execution has exceeded the
// max execution time").
func TestMaxDurationRedrive(t *testing.T) {
	def := mustParse(t, redriveDef)
	x, res, err := interp.Start(def, identity(), `{}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	events := res.Events
	res, err = interp.Step(x, interp.TaskFailed{TaskID: scheduled(t, res).TaskID, Error: "Flaky"}, t0.Add(time.Hour))
	if err != nil || x.Status != interp.Failed {
		t.Fatalf("Step = %v, status %s", err, x.Status)
	}
	events = append(events, res.Events...)
	snap, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := interp.Redrive(def, snap, encode(events), nil, t0.Add(interp.MaxDuration)); !errors.Is(err, interp.ErrNotRedrivable) {
		t.Errorf("Redrive a year after the start: %v", err)
	}
	_, res, err = interp.Redrive(def, snap, encode(events), nil, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, ef := range res.Effects {
		if st, ok := ef.(interp.StartTimer); ok && st.Quota && !st.Due.Equal(t0.Add(interp.MaxDuration)) {
			t.Errorf("quota after the redrive due %v, want a year after the first start", st.Due)
		}
	}
}
