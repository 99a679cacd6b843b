package interp_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
	x, res, err = interp.Redrive(def, snap, encode(events), nil, later)
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
	if _, _, err := interp.Redrive(def, snap, encode(events), nil, later); !errors.Is(err, interp.ErrNotRedrivable) {
		t.Fatalf("redriving a succeeded execution: %v, want ErrNotRedrivable", err)
	}
}

// TestRedriveFanOut checks that a redriven Parallel or Map runs again only the branches or
// iterations that did not succeed.
func TestRedriveFanOut(t *testing.T) {
	const act = "arn:aws:states:us-east-1:123456789012:activity:a"
	tests := []struct {
		name string
		def  string
		// answers answers the first run's tasks, in the order they were scheduled.
		answers []interp.Event
		want    string
		// entered lists the states the redrive enters, sorted: only those on the way to what
		// failed.
		entered string
	}{
		{
			name: "parallel",
			def: `{"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"Quick","States":{"Quick":{"Type":"Pass","Result":"quick","End":true}}},
				{"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"` + act + `","End":true}}}]}}}`,
			answers: []interp.Event{interp.TaskFailed{Error: "Flaky"}},
			want:    `["quick","again-0"]`,
			entered: "[Both Slow]",
		},
		{
			name: "map",
			def: `{"StartAt":"Each","States":{"Each":{"Type":"Map","End":true,"ItemsPath":"$.items",
				"ItemProcessor":{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"` + act + `","End":true}}}}}}`,
			answers: []interp.Event{interp.TaskSucceeded{Output: `"first"`}, interp.TaskFailed{Error: "Flaky"}, interp.TaskSucceeded{Output: `"third"`}},
			want:    `["first","again-0","third"]`,
			entered: "[Each Work]",
		},
		{
			name: "parallel in a parallel branch",
			def: `{"StartAt":"Outer","States":{"Outer":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"a","End":true}}},
				{"StartAt":"Pre","States":{"Pre":{"Type":"Pass","Assign":{"v":7},"Result":{"p":1},"Next":"Inner"},
					"Inner":{"Type":"Parallel","End":true,"Branches":[
						{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"` + act + `","End":true}}},
						{"StartAt":"Y","States":{"Y":{"Type":"Task","Resource":"` + act + `","Parameters":{"v.$":"$v","p.$":"$.p"},"End":true}}}]}}}]}}}`,
			answers: []interp.Event{interp.TaskSucceeded{Output: `"x"`}, interp.TaskFailed{Error: "Flaky"}},
			want:    `["a",["x","again-0"]]`,
			entered: "[Inner Outer Y]",
		},
		{
			name: "map in a parallel branch",
			def: `{"StartAt":"Outer","States":{"Outer":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"a","End":true}}},
				{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","End":true,
					"ItemProcessor":{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"` + act + `","End":true}}}}}}]}}}`,
			answers: []interp.Event{interp.TaskSucceeded{Output: `"one"`}, interp.TaskSucceeded{Output: `"two"`}, interp.TaskFailed{Error: "Flaky"}},
			want:    `["a",["one","two","again-0"]]`,
			entered: "[Each Outer Work]",
		},
		{
			name: "parallel in a map iteration",
			def: `{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","End":true,
				"ItemProcessor":{"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
					{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"` + act + `","End":true}}},
					{"StartAt":"Q","States":{"Q":{"Type":"Task","Resource":"` + act + `","End":true}}}]}}}}}}`,
			answers: []interp.Event{
				interp.TaskSucceeded{Output: `"p1"`}, interp.TaskSucceeded{Output: `"q1"`},
				interp.TaskSucceeded{Output: `"p2"`}, interp.TaskFailed{Error: "Flaky"},
				interp.TaskSucceeded{Output: `"p3"`}, interp.TaskSucceeded{Output: `"q3"`},
			},
			want:    `[["p1","q1"],["p2","again-0"],["p3","q3"]]`,
			entered: "[Both Each Q]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := mustParse(t, tt.def)
			x, res, err := interp.Start(def, identity(), `{"items":[1,2,3]}`, t0)
			if err != nil {
				t.Fatal(err)
			}
			events := res.Events
			var tasks []interp.ScheduleTask
			for _, ef := range res.Effects {
				if s, ok := ef.(interp.ScheduleTask); ok {
					tasks = append(tasks, s)
				}
			}
			if len(tasks) != len(tt.answers) {
				t.Fatalf("%d tasks scheduled, want %d", len(tasks), len(tt.answers))
			}
			// Failures last, so that every success is recorded before the state fails.
			for _, fail := range []bool{false, true} {
				for i, a := range tt.answers {
					var ev interp.Event
					switch a := a.(type) {
					case interp.TaskSucceeded:
						if fail {
							continue
						}
						ev = interp.TaskSucceeded{TaskID: tasks[i].TaskID, Output: a.Output}
					case interp.TaskFailed:
						if !fail {
							continue
						}
						ev = interp.TaskFailed{TaskID: tasks[i].TaskID, Error: a.Error}
					}
					res, err := interp.Step(x, ev, t0)
					if err != nil {
						t.Fatal(err)
					}
					events = append(events, res.Events...)
				}
			}
			if x.Status != interp.Failed {
				t.Fatalf("status %s, want FAILED", x.Status)
			}
			snap, err := x.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			x, res, err = interp.Redrive(def, snap, encode(events), nil, t0.Add(time.Hour))
			if err != nil {
				t.Fatalf("Redrive: %v", err)
			}
			var entered []string
			for _, ev := range res.Events {
				if strings.HasSuffix(ev.Type, "StateEntered") {
					entered = append(entered, ev.Details.Name)
				}
			}
			slices.Sort(entered)
			if got := fmt.Sprint(entered); got != tt.entered {
				t.Errorf("the redrive entered %s, want %s", got, tt.entered)
			}
			var again []interp.ScheduleTask
			for _, ef := range res.Effects {
				if s, ok := ef.(interp.ScheduleTask); ok {
					again = append(again, s)
				}
			}
			if len(again) != 1 {
				t.Fatalf("the redrive scheduled %d tasks, want only the failed one", len(again))
			}
			for i, s := range again {
				if _, err := interp.Step(x, interp.TaskSucceeded{TaskID: s.TaskID, Output: fmt.Sprintf(`"again-%d"`, i)}, t0.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if x.Status != interp.Succeeded || *x.Output != tt.want {
				t.Fatalf("after the redrive: %s %v, want SUCCEEDED %s", x.Status, x.Output, tt.want)
			}
		})
	}
}

// TestRedriveNestedTwice redrives a failure in a nested Parallel twice: each redrive runs only
// the branch that failed, with the variables its enclosing branch assigned, and the outputs of
// the branches that succeeded in the first run are kept through both.
func TestRedriveNestedTwice(t *testing.T) {
	const act = "arn:aws:states:us-east-1:123456789012:activity:a"
	def := mustParse(t, `{"StartAt":"Outer","States":{"Outer":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"a","End":true}}},
		{"StartAt":"Pre","States":{"Pre":{"Type":"Pass","Assign":{"v":7},"Result":{"p":1},"Next":"Inner"},
			"Inner":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"`+act+`","End":true}}},
				{"StartAt":"Y","States":{"Y":{"Type":"Task","Resource":"`+act+`","Parameters":{"v.$":"$v","p.$":"$.p"},"End":true}}},
				{"StartAt":"Z","States":{"Z":{"Type":"Task","Resource":"`+act+`","End":true}}}]}}}]}}}`)
	tasks := func(res interp.Result) []interp.ScheduleTask {
		var out []interp.ScheduleTask
		for _, ef := range res.Effects {
			if s, ok := ef.(interp.ScheduleTask); ok {
				out = append(out, s)
			}
		}
		return out
	}
	x, res, err := interp.Start(def, identity(), `{}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	events := res.Events
	step := func(ev interp.Event) {
		t.Helper()
		res, err := interp.Step(x, ev, t0)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, res.Events...)
	}
	first := tasks(res)
	if len(first) != 3 {
		t.Fatalf("%d tasks scheduled, want 3", len(first))
	}
	step(interp.TaskSucceeded{TaskID: first[0].TaskID, Output: `"x"`})
	step(interp.TaskSucceeded{TaskID: first[2].TaskID, Output: `"z"`})
	step(interp.TaskFailed{TaskID: first[1].TaskID, Error: "Flaky"})
	for i, last := range []bool{false, true} {
		if x.Status != interp.Failed {
			t.Fatalf("before redrive %d: status %s, want FAILED", i+1, x.Status)
		}
		snap, err := x.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		x, res, err = interp.Redrive(def, snap, encode(events), nil, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("Redrive %d: %v", i+1, err)
		}
		events = append(events, res.Events...)
		again := tasks(res)
		if len(again) != 1 || jsonv.String(again[0].Parameters) != `{"v":7,"p":1}` {
			t.Fatalf("redrive %d scheduled %+v; want Y alone, with the branch's variable", i+1, again)
		}
		if last {
			step(interp.TaskSucceeded{TaskID: again[0].TaskID, Output: `"y"`})
		} else {
			step(interp.TaskFailed{TaskID: again[0].TaskID, Error: "Flaky"})
		}
	}
	if x.Status != interp.Succeeded || *x.Output != `["a",["x","y","z"]]` {
		t.Fatalf("after two redrives: %s %v", x.Status, x.Output)
	}
}
