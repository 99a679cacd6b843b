package interp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/interp"
)

// TestMockInvocations checks the invocation numbers tasks carry under a mock test case: they
// count a state's invocations across retries, re-entries and Map iterations, per state, and
// survive a snapshot; without a test case nothing is counted.
func TestMockInvocations(t *testing.T) {
	t.Parallel()
	def := mustParse(t, `{"StartAt":"Work","States":{
		"Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
			"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":2}],"Next":"Each"},
		"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ItemProcessor":{"StartAt":"Inner","States":{
			"Inner":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"g"},"End":true}}},
			"ResultPath":null,"Next":"Again"},
		"Again":{"Type":"Choice","Choices":[{"Variable":"$.again","BooleanEquals":true,"Next":"Clear"}],"Default":"Done"},
		"Clear":{"Type":"Pass","Result":false,"ResultPath":"$.again","Next":"Work"},
		"Done":{"Type":"Succeed"}}}`)
	id := identity()
	id.TestCase = &interp.TestCase{StateMachine: "M", Name: "T"}
	x, res, err := interp.Start(def, id, `{"items":[1,2],"again":true}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	now := t0
	for step := 0; x.Status == interp.Running; step++ {
		if step > 50 {
			t.Fatal("the execution does not end")
		}
		// A restored snapshot must go on counting where the last one stopped.
		snap, err := x.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if x, err = interp.Restore(def, snap); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		var ev interp.Event
		for _, ef := range res.Effects {
			switch ef := ef.(type) {
			case interp.ScheduleTask:
				if ef.TestCase == nil || *ef.TestCase != *id.TestCase {
					t.Fatalf("task %s carries test case %v", ef.StateName, ef.TestCase)
				}
				got = append(got, fmt.Sprintf("%s#%d", ef.StateName, ef.Invocation))
				if ef.StateName == "Work" && ef.Invocation == 0 {
					ev = interp.TaskFailed{TaskID: ef.TaskID, Error: "Flaky", Cause: "first call"}
				} else {
					// Work's second invocation asks for one more round through the Choice.
					again := ef.StateName == "Work" && ef.Invocation == 1
					ev = interp.TaskSucceeded{TaskID: ef.TaskID, Output: fmt.Sprintf(`{"items":[1,2],"again":%v}`, again)}
				}
			case interp.StartTimer:
				if ev == nil && !ef.Quota {
					ev = interp.TimerFired{TimerID: ef.TimerID}
				}
			}
		}
		if ev == nil {
			t.Fatalf("nothing to do at step %d: %+v", step, res.Effects)
		}
		if res, err = interp.Step(x, ev, now); err != nil {
			t.Fatal(err)
		}
	}
	// Work fails once and is retried (#0, #1), the Map runs Inner twice (#0, #1); the Choice
	// loops back once, so Work is #2 and Inner #2, #3.
	want := "Work#0 Work#1 Inner#0 Inner#1 Work#2 Inner#2 Inner#3"
	if s := strings.Join(got, " "); s != want || x.Status != interp.Succeeded {
		t.Errorf("invocations %s (%s), want %s", s, x.Status, want)
	}

	_, res, err = interp.Start(def, identity(), `{"items":[],"again":false}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ef := range res.Effects {
		if s, ok := ef.(interp.ScheduleTask); ok && (s.TestCase != nil || s.Invocation != 0) {
			t.Errorf("an ordinary execution's task carries %v #%d", s.TestCase, s.Invocation)
		}
	}
}
