package interp_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// mapRunRedrive drives an execution of one distributed Map through its first run and its
// redrives, keeping its history.
type mapRunRedrive struct {
	t      *testing.T
	def    string
	x      *interp.Execution
	events []history.Event
	tasks  map[string]string // open tasks: item (the task's input) → task ID
	// children are the histories of the child executions, by ARN, and keys their keys.
	children map[string][]history.Event
	keys     map[string]int64
	// timers are the timers started, oldest first.
	timers []interp.StartTimer
}

// startMapRun starts an execution of def with input (a JSON text) for a mapRunRedrive.
func startMapRun(t *testing.T, def, input string) *mapRunRedrive {
	t.Helper()
	d := &mapRunRedrive{t: t, def: def, tasks: map[string]string{}}
	x, res, err := interp.Start(mustParse(t, def), identity(), input, t0)
	if err != nil {
		t.Fatal(err)
	}
	d.x = x
	d.take(res)
	return d
}

func (d *mapRunRedrive) take(res interp.Result) {
	d.events = append(d.events, res.Events...)
	for _, c := range res.Children {
		if d.children == nil {
			d.children, d.keys = map[string][]history.Event{}, map[string]int64{}
		}
		d.children[c.ExecutionArn] = append(d.children[c.ExecutionArn], c.Events...)
		if k, ok := d.keys[c.ExecutionArn]; ok && k != c.Key {
			d.t.Fatalf("child %s has key %d, then %d", c.ExecutionArn, k, c.Key)
		}
		d.keys[c.ExecutionArn] = c.Key
	}
	for _, ef := range res.Effects {
		switch ef := ef.(type) {
		case interp.ScheduleTask:
			d.tasks[jsonv.String(ef.Parameters)] = ef.TaskID
		case interp.StartTimer:
			d.timers = append(d.timers, ef)
		}
	}
}

// answer answers the open task of item with out (a JSON text), or fails it when out is "".
func (d *mapRunRedrive) answer(item, out string, now time.Time) {
	d.t.Helper()
	id, ok := d.tasks[item]
	if !ok {
		d.d("no open task for item %s among %v", item, d.tasks)
	}
	delete(d.tasks, item)
	var ev interp.Event = interp.TaskSucceeded{TaskID: id, Output: out}
	if out == "" {
		ev = interp.TaskFailed{TaskID: id, Error: "Boom"}
	}
	// Every step starts from a restored snapshot, as in the engine.
	snap, err := d.x.Snapshot()
	if err != nil {
		d.t.Fatal(err)
	}
	if d.x, err = interp.Restore(mustParse(d.t, d.def), snap); err != nil {
		d.t.Fatal(err)
	}
	res, err := interp.Step(d.x, ev, now)
	if err != nil {
		d.t.Fatal(err)
	}
	d.take(res)
}

func (d *mapRunRedrive) d(format string, args ...any) {
	d.t.Helper()
	d.t.Fatalf(format, args...)
}

// redrive redrives the execution from its snapshot (edited by edit, if set) and restores the
// redriven execution from its own snapshot, as the engine would between steps.
func (d *mapRunRedrive) redrive(now time.Time, edit func(map[string]any)) interp.Result {
	d.t.Helper()
	def := mustParse(d.t, d.def)
	snap, err := d.x.Snapshot()
	if err != nil {
		d.t.Fatal(err)
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(snap, &m); err != nil {
			d.t.Fatal(err)
		}
		edit(m)
		if snap, err = json.Marshal(m); err != nil {
			d.t.Fatal(err)
		}
	}
	histories := func(arn string) ([][]byte, error) { return encode(d.children[arn]), nil }
	x, res, err := interp.Redrive(def, snap, encode(d.events), histories, now)
	if err != nil {
		d.t.Fatalf("Redrive: %v", err)
	}
	if snap, err = x.Snapshot(); err != nil {
		d.t.Fatal(err)
	}
	if d.x, err = interp.Restore(def, snap); err != nil {
		d.t.Fatal(err)
	}
	clear(d.tasks)
	d.take(res)
	return res
}

// mapRunOf returns the execution's only Map Run.
func (d *mapRunRedrive) mapRunOf() interp.MapRun {
	d.t.Helper()
	runs := d.x.MapRuns()
	if len(runs) != 1 {
		d.t.Fatalf("%d Map Runs, want 1: %+v", len(runs), runs)
	}
	return runs[0]
}

// children describes the child executions: item index:status:redrive count.
func children(m interp.MapRun) string {
	s := ""
	for _, c := range m.Children {
		s += fmt.Sprintf("%s:%d ", c.Status, c.RedriveCount)
	}
	return s
}

// TestMapRunRedrive: a redrive of an execution whose distributed Map failed redrives the Map
// Run itself, as AWS does: same ARN, MapRunRedriven with the Map Run's redrive count, only
// the child executions that did not succeed run again, and the outputs of the others are kept.
func TestMapRunRedrive(t *testing.T) {
	def := distributedMap(`"ToleratedFailureCount":0,`)
	d := startMapRun(t, def, `["a","b","c","d"]`)
	d.answer(`"a"`, `"A"`, t0)
	d.answer(`"c"`, `null`, t0) // JSON null is an output like any other
	d.answer(`"b"`, "", t0.Add(time.Second))
	if d.x.Status != interp.Failed {
		t.Fatalf("first run: %s, want FAILED", d.x.Status)
	}
	first := d.mapRunOf()
	if got := summary(first); got != "FAILED 0/0/2/1/1 exec=4 mc=0 tc=0 tp=0" {
		t.Fatalf("first run: %s", got)
	}

	rounds := []struct {
		tasks, summary, children string
		answers                  [][2]string // item, output ("": fail)
		after                    string
	}{
		// b failed and d was aborted: both run again; d succeeds, b fails again.
		{`["b","d"]`, "RUNNING 0/2/2/0/0 exec=4 mc=0 tc=0 tp=0", "SUCCEEDED:0 RUNNING:1 SUCCEEDED:0 RUNNING:1 ",
			[][2]string{{`"d"`, `"D"`}, {`"b"`, ""}}, "FAILED 0/0/3/1/0 exec=4 mc=0 tc=0 tp=0"},
		// b alone runs again, and succeeds.
		{`["b"]`, "RUNNING 0/1/3/0/0 exec=4 mc=0 tc=0 tp=0", "SUCCEEDED:0 RUNNING:2 SUCCEEDED:0 SUCCEEDED:1 ",
			[][2]string{{`"b"`, `"B"`}}, "SUCCEEDED 0/0/4/0/0 exec=4 mc=0 tc=0 tp=0"},
	}
	for i, round := range rounds {
		n := int64(i + 1)
		at := t0.Add(time.Duration(n) * time.Hour)
		res := d.redrive(at, nil)
		var redriven *history.Event
		for i := range res.Events {
			switch res.Events[i].Type {
			case "MapRunRedriven":
				redriven = &res.Events[i]
			case "MapRunStarted":
				t.Fatalf("redrive %d started a new Map Run: %+v", n, res.Events[i])
			}
		}
		if redriven == nil || redriven.Details.MapRunArn != first.Arn || redriven.Details.RedriveCount == nil || *redriven.Details.RedriveCount != n {
			t.Fatalf("redrive %d: MapRunRedriven %+v, want the Map Run %s with redrive count %d", n, redriven, first.Arn, n)
		}
		wantJSON := `"mapRunRedrivenEventDetails":{"mapRunArn":"` + first.Arn + `","redriveCount":` + fmt.Sprint(n) + `}`
		if got := string(redriven.AppendJSON(nil, false)); !strings.Contains(got, wantJSON) {
			t.Errorf("MapRunRedriven as JSON: %s, want %s in it", got, wantJSON)
		}
		var tasks []string
		for item := range d.tasks {
			tasks = append(tasks, item)
		}
		slices.Sort(tasks)
		if got := "[" + strings.Join(tasks, ",") + "]"; got != round.tasks {
			t.Fatalf("redrive %d scheduled tasks for %s, want %s", n, got, round.tasks)
		}
		m := d.mapRunOf()
		if m.Arn != first.Arn || m.Status != interp.MapRunRunning || m.StopDate != nil || !m.StartDate.Equal(first.StartDate) ||
			m.RedriveCount != n || m.RedriveDate == nil || !m.RedriveDate.Equal(at) {
			t.Fatalf("redrive %d: the Map Run is %+v", n, m)
		}
		if got := summary(m); got != round.summary {
			t.Fatalf("redrive %d: %s, want %s", n, got, round.summary)
		}
		if got := children(m); got != round.children {
			t.Fatalf("redrive %d: children %s, want %s", n, got, round.children)
		}
		for i, c := range m.Children {
			if c.ExecutionArn != first.Children[i].ExecutionArn || !c.StartDate.Equal(first.Children[i].StartDate) {
				t.Errorf("redrive %d: child %d is %+v, was %+v", n, i, c, first.Children[i])
			}
			if c.Status == interp.Running && (c.RedriveDate == nil || !c.RedriveDate.Equal(at) || c.StopDate != nil) {
				t.Errorf("redrive %d: child %d redriven at %v, stop %v", n, i, c.RedriveDate, c.StopDate)
			}
		}
		for _, a := range round.answers {
			d.answer(a[0], a[1], at)
		}
		if got := summary(d.mapRunOf()); got != round.after {
			t.Fatalf("after redrive %d: %s, want %s", n, got, round.after)
		}
	}
	if d.x.Status != interp.Succeeded || *d.x.Output != `["A","B",null,"D"]` {
		t.Fatalf("after two redrives: %s %v", d.x.Status, d.x.Output)
	}
	m := d.mapRunOf()
	if m.RedriveCount != 2 || m.StopDate == nil {
		t.Fatalf("at the end: redrive count %d, stop %v", m.RedriveCount, m.StopDate)
	}
	if got := children(m); got != "SUCCEEDED:0 SUCCEEDED:2 SUCCEEDED:0 SUCCEEDED:1 " {
		t.Fatalf("children at the end: %s", got)
	}
}

// restore replaces the execution by one restored from its snapshot.
func (d *mapRunRedrive) restore() {
	d.t.Helper()
	snap, err := d.x.Snapshot()
	if err != nil {
		d.t.Fatal(err)
	}
	if d.x, err = interp.Restore(mustParse(d.t, d.def), snap); err != nil {
		d.t.Fatal(err)
	}
}

// TestMapRunRedrivePending: beyond MaxConcurrency, the child executions to redrive wait as
// PENDING_REDRIVE, and the record (kept in the snapshot) decides which items run again after
// the redrive's first burst too.
func TestMapRunRedrivePending(t *testing.T) {
	def := distributedMap(`"MaxConcurrency":1,"ToleratedFailureCount":1,`)
	d := startMapRun(t, def, `["a","b","c","d"]`)
	d.answer(`"a"`, "", t0) // tolerated
	d.answer(`"b"`, "", t0) // one too many: c and d never start
	if got := summary(d.mapRunOf()); d.x.Status != interp.Failed || got != "FAILED 2/0/0/2/0 exec=2 mc=1 tc=1 tp=0" {
		t.Fatalf("first run: %s %s", d.x.Status, got)
	}
	at := t0.Add(time.Hour)
	d.redrive(at, nil)
	m := d.mapRunOf()
	if got := summary(m); got != "RUNNING 2/1/0/0/0 exec=2 mc=1 tc=1 tp=0" || m.Items.PendingRedrive != 1 || m.Executions.PendingRedrive != 1 {
		t.Fatalf("redriven: %s, pending redrive %d items, %d executions", got, m.Items.PendingRedrive, m.Executions.PendingRedrive)
	}
	if got := children(m); got != "RUNNING:1 PENDING_REDRIVE:0 " {
		t.Fatalf("redriven: children %s", got)
	}
	for _, item := range []string{`"a"`, `"b"`, `"c"`, `"d"`} {
		d.restore()
		d.answer(item, `"ok"`, at)
	}
	m = d.mapRunOf()
	if d.x.Status != interp.Succeeded || m.Status != interp.MapRunSucceeded || m.RedriveCount != 1 {
		t.Fatalf("at the end: %s, Map Run %s redriven %d times", d.x.Status, m.Status, m.RedriveCount)
	}
	if got := children(m); got != "SUCCEEDED:1 SUCCEEDED:1 SUCCEEDED:0 SUCCEEDED:0 " {
		t.Fatalf("children at the end: %s", got)
	}
}

// TestMapRunRedriveLimit: a Map Run redriven 1000 times cannot be redriven again; the Map
// fails with States.Runtime.
func TestMapRunRedriveLimit(t *testing.T) {
	def := distributedMap(``)
	d := startMapRun(t, def, `["a"]`)
	d.answer(`"a"`, "", t0)
	res := d.redrive(t0.Add(time.Hour), func(snap map[string]any) {
		snap["mapRuns"].([]any)[0].(map[string]any)["redriveCount"] = interp.MaxMapRunRedrives
	})
	for _, ev := range res.Events {
		if ev.Type == "MapRunRedriven" || ev.Type == "MapRunStarted" {
			t.Errorf("the Map Run is redriven over the limit: %+v", ev)
		}
	}
	if d.x.Status != interp.Failed || *d.x.Error != "States.Runtime" || !strings.Contains(*d.x.Cause, "redriven 1000 times") {
		t.Fatalf("over the limit: %s %v %v", d.x.Status, d.x.Error, d.x.Cause)
	}
	if m := d.mapRunOf(); m.Status != interp.MapRunFailed || m.RedriveCount != interp.MaxMapRunRedrives {
		t.Fatalf("over the limit, the Map Run is %s, redriven %d times", m.Status, m.RedriveCount)
	}
}

// TestMapRunRedriveNotStarted: a Map whose Map Run never started (its items could not be
// read) starts it in the redrive, with MapRunStarted.
func TestMapRunRedriveNotStarted(t *testing.T) {
	def := distributedMap(`"QueryLanguage":"JSONata","Items":"{% $states.context.Execution.RedriveCount = 0 ? 'not yet' : $states.input %}",`)
	d := startMapRun(t, def, `["a"]`)
	if d.x.Status != interp.Failed || len(d.x.MapRuns()) != 0 {
		t.Fatalf("first run: %s, %d Map Runs", d.x.Status, len(d.x.MapRuns()))
	}
	res := d.redrive(t0.Add(time.Hour), nil)
	started := 0
	for _, ev := range res.Events {
		if ev.Type == "MapRunStarted" {
			started++
		}
	}
	if m := d.mapRunOf(); started != 1 || m.RedriveCount != 0 || m.RedriveDate != nil {
		t.Fatalf("the redrive started %d Map Runs; the Map Run: %+v", started, m)
	}
	d.answer(`"a"`, `"A"`, t0.Add(time.Hour))
	if d.x.Status != interp.Succeeded || *d.x.Output != `["A"]` {
		t.Fatalf("after the redrive: %s %v", d.x.Status, d.x.Output)
	}
}

// TestMapRunRedriveOldSnapshot: the record of a failed Map Run in a snapshot written before
// Map Runs were redriven has no outputs of the items that succeeded; the redrive starts a new
// Map Run, which runs every item, as redrives did then.
func TestMapRunRedriveOldSnapshot(t *testing.T) {
	def := distributedMap(`"ToleratedFailureCount":0,`)
	d := startMapRun(t, def, `["a","b"]`)
	d.answer(`"a"`, `"A"`, t0)
	d.answer(`"b"`, "", t0)
	res := d.redrive(t0.Add(time.Hour), func(snap map[string]any) {
		delete(snap["mapRuns"].([]any)[0].(map[string]any), "outputs")
	})
	started := 0
	for _, ev := range res.Events {
		if ev.Type == "MapRunStarted" {
			started++
		}
	}
	if runs := d.x.MapRuns(); started != 1 || len(runs) != 2 || len(d.tasks) != 2 || runs[0].RedriveCount != 0 {
		t.Fatalf("the redrive started %d Map Runs and %d tasks; Map Runs %+v", started, len(d.tasks), runs)
	}
}
