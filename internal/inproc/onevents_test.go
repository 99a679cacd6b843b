package inproc

import (
	"context"
	"testing"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
)

// TestOnEvents: OnEvents is given every event, step by step, in the order of the result's
// history: the first burst, then each step after a wait.
func TestOnEvents(t *testing.T) {
	t.Parallel()
	var steps [][]history.Event
	res, err := run(t, context.Background(), `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Next":"W"},
		"W":{"Type":"Wait","Seconds":5,"Next":"B"},
		"B":{"Type":"Pass","End":true}}}`, Options{OnEvents: func(events []history.Event) { steps = append(steps, events) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != interp.Succeeded || len(steps) != 2 {
		t.Fatalf("%s in %d steps, want SUCCEEDED in 2 (before and after the wait)", res.Status, len(steps))
	}
	var all []history.Event
	for _, s := range steps {
		all = append(all, s...)
	}
	if len(all) != len(res.Events) {
		t.Fatalf("OnEvents saw %d events, the history has %d", len(all), len(res.Events))
	}
	for i := range all {
		if all[i].ID != res.Events[i].ID || all[i].Type != res.Events[i].Type {
			t.Fatalf("event %d: OnEvents saw %d %s, the history has %d %s", i, all[i].ID, all[i].Type, res.Events[i].ID, res.Events[i].Type)
		}
	}
	if last := steps[1][len(steps[1])-1]; last.Type != "ExecutionSucceeded" {
		t.Fatalf("the last step ends with %s", last.Type)
	}
}
