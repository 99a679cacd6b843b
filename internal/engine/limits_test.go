package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// history reads an execution's whole stored history, page by page.
func history(t *testing.T, s store.Store, arn string) []*store.HistoryEvent {
	t.Helper()
	var events []*store.HistoryEvent
	after := int64(0)
	for {
		res, err := s.HistoryList(context.Background(), &store.HistoryListParams{ExecutionArn: arn, After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, res.Events...)
		if res.NextAfter == 0 {
			return events
		}
		after = res.NextAfter
	}
}

// TestHistoryLimitDurable runs executions into AWS's history limit, in StartExecution's first
// burst and in a later step of the loop, and checks that exactly MaxHistoryEvents are stored.
func TestHistoryLimitDurable(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	e := newEngine(t, s, "n1", engine.Options{WaitScale: 0})
	for _, tc := range []struct {
		name, def string
		last      string // the type of the last event before ExecutionFailed
	}{
		{name: "first-burst", last: "ChoiceStateExited",
			def: `{"StartAt":"Loop","States":{"Loop":{"Type":"Choice","Choices":[{"Variable":"$.spin","BooleanEquals":true,"Next":"Loop"}],"Default":"Done"},"Done":{"Type":"Succeed"}}}`},
		{name: "after-a-wait", last: "ChoiceStateExited",
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"Next":"Loop"},
				"Loop":{"Type":"Choice","Choices":[{"Variable":"$.spin","BooleanEquals":true,"Next":"Loop"}],"Default":"Done"},"Done":{"Type":"Succeed"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := createMachine(t, s, tc.name, tc.def)
			ex, err := e.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{"spin":true}`})
			if err != nil {
				t.Fatal(err)
			}
			got := waitEnd(t, s, ex.Arn)
			if got.Status != store.StatusFailed || deref(got.Error) != "States.Runtime" ||
				deref(got.Cause) != "The execution reached the maximum number of history events (25000)." {
				t.Fatalf("status %s error %s cause %s", got.Status, deref(got.Error), deref(got.Cause))
			}
			events := history(t, s, ex.Arn)
			if len(events) != interp.MaxHistoryEvents {
				t.Fatalf("%d events stored, want %d", len(events), interp.MaxHistoryEvents)
			}
			for i, ev := range events {
				if ev.ID != int64(i+1) {
					t.Fatalf("event %d at position %d", ev.ID, i+1)
				}
			}
			end, last := events[len(events)-1], events[len(events)-2]
			if end.Type != "ExecutionFailed" || last.Type != tc.last || !strings.Contains(string(end.Payload), `"previousEventId":24999`) {
				t.Fatalf("history ends %s %s: %s", last.Type, end.Type, end.Payload)
			}
		})
	}
}

// TestMaxDurationDurable parks an execution on an activity under --wait-scale 0, where its
// Wait fires at once but the one-year quota must not, and lets a second engine, started a year
// later on the same database, time it out from the quota's timer row.
func TestMaxDurationDurable(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := newEngine(t, s, "n1", engine.Options{WaitScale: 0, Clock: &clock.Fake{T: t0}})
	activity := "arn:aws:states:us-east-1:123456789012:activity:slow"
	if _, err := s.ActivityCreate(context.Background(), &store.ActivityCreateParams{Arn: activity, Name: "slow", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	sm := createMachine(t, s, "year", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"A"},
		"A":{"Type":"Task","Resource":"`+activity+`","End":true}}}`)
	ex, err := first.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		events := history(t, s, ex.Arn)
		if events[len(events)-1].Type == "ActivityScheduled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the activity was not scheduled; last event %s", events[len(events)-1].Type)
		}
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ExecutionGet(context.Background(), &store.ExecutionGetParams{Arn: ex.Arn}); err != nil || got.Status != store.StatusRunning {
		t.Fatalf("after the Wait under --wait-scale 0: %v, status %s", err, got.Status)
	}

	year := t0.Add(interp.MaxDuration)
	newEngine(t, s, "n2", engine.Options{WaitScale: 0, Clock: &clock.Fake{T: year}})
	got := waitEnd(t, s, ex.Arn)
	// As for TimeoutSeconds, DescribeExecution reports no error; the event has States.Timeout.
	if got.Status != store.StatusTimedOut || got.Error != nil || got.Cause != nil {
		t.Fatalf("status %s error %s cause %s", got.Status, deref(got.Error), deref(got.Cause))
	}
	events := checkHistory(t, s, ex.Arn)
	end := events[len(events)-1]
	if end.Type != "ExecutionTimedOut" || !end.Timestamp.Equal(year) || !strings.Contains(string(end.Payload), `"error":"States.Timeout"`) {
		t.Fatalf("last event %s at %v, want ExecutionTimedOut at %v: %s", end.Type, end.Timestamp, year, end.Payload)
	}
}

// TestExpressChildTimesOutDurable parks an EXPRESS child execution of a distributed Map on an
// activity and lets a second engine, started five minutes later on the same database, time it
// out from its timer row, which --wait-scale does not scale: the child ends TIMED_OUT and its
// Map, which tolerates no failure, fails the execution with States.Timeout.
func TestExpressChildTimesOutDurable(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := newEngine(t, s, "n1", engine.Options{WaitScale: 0, Clock: &clock.Fake{T: t0}})
	activity := "arn:aws:states:us-east-1:123456789012:activity:slow-item"
	if _, err := s.ActivityCreate(context.Background(), &store.ActivityCreateParams{Arn: activity, Name: "slow-item", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	sm := createMachine(t, s, "express-items", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"A",
			"States":{"A":{"Type":"Task","Resource":"`+activity+`","End":true}}}}}}`)
	ex, err := first.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "e1", Input: `["a"]`})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	def, err := first.Definition(sm)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.ExecutionGet(context.Background(), &store.ExecutionGetParams{Arn: ex.Arn, WithState: true})
	if err != nil {
		t.Fatal(err)
	}
	x, err := interp.Restore(def, stored.State)
	if err != nil {
		t.Fatal(err)
	}
	child := x.MapRuns()[0].Children[0].ExecutionArn

	later := t0.Add(interp.ExpressMaxDuration)
	newEngine(t, s, "n2", engine.Options{WaitScale: 0, Clock: &clock.Fake{T: later}})
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusFailed || deref(got.Error) != "States.Timeout" {
		t.Fatalf("execution %s %s", got.Status, deref(got.Error))
	}
	events, err := s.HistoryList(context.Background(), &store.HistoryListParams{ExecutionArn: child, Child: true})
	if err != nil || len(events.Events) != 2 {
		t.Fatalf("child history %+v, %v", events, err)
	}
	end := events.Events[1]
	if end.Type != "ExecutionTimedOut" || !end.Timestamp.Equal(later) || !strings.Contains(string(end.Payload), `"error":"States.Timeout"`) {
		t.Fatalf("child's last event %s at %v: %s", end.Type, end.Timestamp, end.Payload)
	}
}
