package interp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

const redriveDef = `{"StartAt":"Set","States":{
	"Set":{"Type":"Pass","Assign":{"n":5},"Result":{"step":"set"},"Next":"Work"},
	"Work":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","Parameters":{"n.$":"$n"},"End":true}}}`

// encode returns events as the engine stores them: GetExecutionHistory's JSON with data.
func encode(events []history.Event) [][]byte {
	out := make([][]byte, len(events))
	for i := range events {
		out[i] = events[i].AppendJSON(nil, true)
	}
	return out
}

func scheduled(t *testing.T, res interp.Result) interp.ScheduleTask {
	t.Helper()
	for _, ef := range res.Effects {
		if s, ok := ef.(interp.ScheduleTask); ok {
			return s
		}
	}
	t.Fatalf("no task scheduled among %v", res.Effects)
	return interp.ScheduleTask{}
}

func TestRedrive(t *testing.T) {
	def := mustParse(t, redriveDef)
	x, res, err := interp.Start(def, identity(), `{"in":1}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	events := res.Events
	task := scheduled(t, res)
	res, err = interp.Step(x, interp.TaskFailed{TaskID: task.TaskID, Error: "Flaky", Cause: "once"}, t0.Add(time.Second))
	if err != nil || x.Status != interp.Failed {
		t.Fatalf("Step = %v, status %s", err, x.Status)
	}
	events = append(events, res.Events...)
	snap, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	later := t0.Add(time.Hour)
	x, res, err = interp.Redrive(def, snap, encode(events), later)
	if err != nil {
		t.Fatalf("Redrive: %v", err)
	}
	if x.Status != interp.Running || x.Error != nil || x.ID.RedriveCount != 1 {
		t.Fatalf("redriven execution: status %s, error %v, redrive count %d", x.Status, x.Error, x.ID.RedriveCount)
	}
	first := res.Events[0]
	last := events[len(events)-1].ID
	if first.Type != "ExecutionRedriven" || first.ID != last+1 || first.PreviousEventID != last ||
		first.Details.RedriveCount == nil || *first.Details.RedriveCount != 1 {
		t.Fatalf("first event after the redrive: %+v", first)
	}
	if entered := res.Events[1]; entered.Type != "TaskStateEntered" || entered.Details.Name != "Work" ||
		*entered.Details.Input != `{"step":"set"}` || entered.PreviousEventID != first.ID {
		t.Fatalf("the failed state is not entered again with its input: %+v", entered)
	}
	again := scheduled(t, res)
	if again.TaskID == task.TaskID || jsonv.String(again.Parameters) != `{"n":5}` {
		t.Fatalf("task after the redrive: %+v (was %+v); the variable must be kept", again, task)
	}
	if _, err := interp.Step(x, interp.TaskSucceeded{TaskID: again.TaskID, Output: `"done"`}, later); err != nil || x.Status != interp.Succeeded {
		t.Fatalf("after the redrive: %v, status %s", err, x.Status)
	}

	// A snapshot taken once it succeeded cannot be redriven.
	snap, err = x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := interp.Redrive(def, snap, encode(events), later); !errors.Is(err, interp.ErrNotRedrivable) {
		t.Fatalf("redriving a succeeded execution: %v, want ErrNotRedrivable", err)
	}
}
