package interp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/inproc"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// expressMap is a distributed Map of EXPRESS children over the input's items: a child passes
// its item on, unless the item is a multiple of 7, which fails it.
func expressMap(settings string) string {
	return `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"L",` + settings + `,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$.v","NumericEquals":0,"Next":"P"},
				{"Variable":"$.seven","NumericEquals":0,"Next":"F"}],"Default":"P"},
			"F":{"Type":"Fail","Error":"Seven","Cause":"a multiple of seven"},
			"P":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.v, $.v)","from.$":"$$.Execution.Name"},"End":true}}}}}}`
}

// groupRun is an execution whose Map Run children run as group tasks, driven by hand: each
// group task is answered as the engine answers it, its children run in memory (inproc).
type groupRun struct {
	t      *testing.T
	def    *asl.StateMachine
	x      *interp.Execution
	now    time.Time
	groups []interp.ScheduleTask
	// cancelled are the group tasks withdrawn; children the events of the children's histories.
	cancelled []string
	children  map[string][]history.Event
}

func startGroupRun(t *testing.T, def, input string) *groupRun {
	t.Helper()
	g := &groupRun{t: t, def: mustParse(t, def), now: t0, children: map[string][]history.Event{}}
	id := identity()
	id.ChildrenAsTasks = true
	x, res, err := interp.Start(g.def, id, input, t0)
	if err != nil {
		t.Fatal(err)
	}
	g.x = x
	g.take(res)
	return g
}

func (g *groupRun) take(res interp.Result) {
	for _, e := range res.Effects {
		switch e := e.(type) {
		case interp.ScheduleTask:
			if e.Resource != interp.MapChildrenResource {
				g.t.Fatalf("task %s, want only groups", e.Resource)
			}
			g.groups = append(g.groups, e)
		case interp.CancelTask:
			g.cancelled = append(g.cancelled, e.TaskID)
		}
	}
	for _, c := range res.Children {
		g.children[c.ExecutionArn] = append(g.children[c.ExecutionArn], c.Events...)
	}
}

// step applies e after a trip through Snapshot and Restore, as the durable engine does.
func (g *groupRun) step(e interp.Event) {
	g.t.Helper()
	snap, err := g.x.Snapshot()
	if err != nil {
		g.t.Fatal(err)
	}
	if g.x, err = interp.Restore(g.def, snap); err != nil {
		g.t.Fatalf("Restore: %v\n%s", err, snap)
	}
	g.now = g.now.Add(time.Second)
	res, err := interp.Step(g.x, e, g.now)
	if err != nil {
		g.t.Fatal(err)
	}
	g.take(res)
}

// answer runs the oldest group's children and answers the group with their outcomes.
func (g *groupRun) answer() {
	g.t.Helper()
	task := g.groups[0]
	g.groups = g.groups[1:]
	proc, err := interp.ProcessorMachine(g.def, task.StateName)
	if err != nil {
		g.t.Fatal(err)
	}
	var p struct {
		StateMachineName string
		Children         []struct {
			Index              int
			ExecutionArn, Name string
			Input              json.RawMessage
		}
	}
	if err := json.Unmarshal(jsonv.Append(nil, task.Parameters), &p); err != nil {
		g.t.Fatal(err)
	}
	var outs []string
	for _, c := range p.Children {
		res, err := inproc.Run(context.Background(), inproc.Options{Definition: proc, Input: string(c.Input),
			StateMachineName: p.StateMachineName, ExecutionName: c.Name, ExecutionArn: c.ExecutionArn, Type: asl.Express,
			Account: "123456789012", Region: "us-east-1"})
		if err != nil {
			g.t.Fatal(err)
		}
		if res.Status == interp.Succeeded {
			outs = append(outs, fmt.Sprintf(`{"Index":%d,"Status":"SUCCEEDED","Output":%s}`, c.Index, *res.Output))
		} else {
			outs = append(outs, fmt.Sprintf(`{"Index":%d,"Status":%q,"Error":%q,"Cause":%q}`, c.Index, res.Status, deref(res.Error), deref(res.Cause)))
		}
	}
	g.step(interp.TaskSucceeded{TaskID: task.TaskID, Output: `{"Children":[` + strings.Join(outs, ",") + `]}`})
}

// items is n items {"v":i,"seven":i%7}.
func items(n int) string {
	var b []string
	for i := range n {
		b = append(b, fmt.Sprintf(`{"v":%d,"seven":%d}`, i, i%7))
	}
	return "[" + strings.Join(b, ",") + "]"
}

// TestChildGroupsRunTheMap runs a Map of EXPRESS children as groups: the groups respect
// MaxConcurrency, a child's outcome is recorded in its own history, and the Map ends as it
// would with its children as threads, succeeding within its tolerated failures and failing
// past them.
func TestChildGroupsRunTheMap(t *testing.T) {
	for _, tc := range []struct {
		name, settings string
		status         interp.Status
		errName        string
	}{
		{"tolerated", `"MaxConcurrency":8,"ToleratedFailureCount":4,"End":true`, interp.Succeeded, ""},
		{"not tolerated", `"MaxConcurrency":8,"ToleratedFailureCount":2,"End":true`, interp.Failed, "States.ExceedToleratedFailureThreshold"},
		{"unbounded", `"ToleratedFailurePercentage":20,"End":true`, interp.Succeeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := expressMap(tc.settings)
			want, _ := drive(t, mustParse(t, def), items(25), noTasks(t))
			g := startGroupRun(t, def, items(25))
			for g.x.Status == interp.Running {
				running := 0
				for _, c := range g.x.MapRuns()[0].Children {
					if c.Status == interp.Running {
						running++
					}
				}
				if mc := g.x.MapRuns()[0].MaxConcurrency; mc > 0 && running > mc {
					t.Fatalf("%d children running, MaxConcurrency %d", running, mc)
				}
				if len(g.groups) == 0 {
					t.Fatal("execution stuck")
				}
				g.answer()
			}
			if errName := deref(g.x.Error); g.x.Status != tc.status || g.x.Error != nil && errName != tc.errName {
				t.Fatalf("execution %s %s %s, want %s %s", g.x.Status, deref(g.x.Error), deref(g.x.Cause), tc.status, tc.errName)
			}
			if want.Status != g.x.Status || deref(want.Output) != deref(g.x.Output) || deref(want.Error) != deref(g.x.Error) {
				t.Fatalf("as groups: %s %s %s\nas threads: %s %s %s", g.x.Status, deref(g.x.Output), deref(g.x.Error),
					want.Status, deref(want.Output), deref(want.Error))
			}
			if tc.status == interp.Succeeded && !strings.Contains(deref(g.x.Output), `{"doubled":2,"from":"`) {
				t.Fatalf("output %s", deref(g.x.Output))
			}
			mr := g.x.MapRuns()[0]
			for _, c := range mr.Children {
				events := g.children[c.ExecutionArn]
				if len(events) == 0 || events[0].Type != "ExecutionStarted" {
					t.Fatalf("child %s history %v", c.ExecutionArn, events)
				}
				end := events[len(events)-1]
				switch c.Status {
				case interp.Succeeded, interp.Failed, interp.Aborted:
					if len(events) != 2 || end.Type != "Execution"+map[interp.Status]string{
						interp.Succeeded: "Succeeded", interp.Failed: "Failed", interp.Aborted: "Aborted"}[c.Status] {
						t.Fatalf("child %s %s, history %v", c.ExecutionArn, c.Status, events)
					}
				default:
					t.Fatalf("child %s still %s", c.ExecutionArn, c.Status)
				}
			}
			if tc.status == interp.Failed && len(g.groups) > 0 && len(g.cancelled) == 0 {
				t.Fatal("the failed Map withdrew none of its groups")
			}
		})
	}
}

// TestChildGroupStopAndFailure stops one child of a group in flight (its group's outcome for it
// is then ignored), and fails a whole group whose runner could not run it.
func TestChildGroupStopAndFailure(t *testing.T) {
	g := startGroupRun(t, expressMap(`"MaxConcurrency":4,"ToleratedFailureCount":3,"End":true`), items(6))
	if len(g.groups) != 4 {
		t.Fatalf("%d groups, want 4 of one child", len(g.groups))
	}
	first := g.x.MapRuns()[0].Children[0].ExecutionArn
	g.step(interp.Stop{Child: first, Error: new("Halt"), Cause: new("stopped by hand")})
	if c := g.x.MapRuns()[0].Children[0]; c.Status != interp.Aborted {
		t.Fatalf("stopped child %s", c.Status)
	}
	if len(g.groups) != 5 {
		t.Fatalf("%d groups after the stop, want a fifth for the freed slot", len(g.groups))
	}
	g.answer() // the stopped child's group: ignored
	if n := len(g.children[first]); n != 2 || g.children[first][1].Type != "ExecutionAborted" {
		t.Fatalf("stopped child history %v", g.children[first])
	}
	second := g.groups[0]
	g.groups = g.groups[1:]
	g.step(interp.TaskFailed{TaskID: second.TaskID, Error: "States.Runtime", Cause: "no runner"})
	if c := g.x.MapRuns()[0].Children[1]; c.Status != interp.Failed {
		t.Fatalf("child of the failed group %s", c.Status)
	}
	for len(g.groups) > 0 && g.x.Status == interp.Running {
		g.answer()
	}
	// The stop and the failed group are two failures: tolerated.
	if g.x.Status != interp.Succeeded {
		t.Fatalf("execution %s %s %s", g.x.Status, deref(g.x.Error), deref(g.x.Cause))
	}
	c := g.x.MapRuns()[0].Items
	if c.Succeeded != 4 || c.Failed != 1 || c.Aborted != 1 {
		t.Fatalf("Map Run items %+v", c)
	}
}

// TestChildContextObject: a Map Run child's context object is its own execution's (its ARN,
// name, input, even null, and the state machine SM/LABEL), the same whether it runs as a
// thread of its parent, restored from a snapshot mid-way, or in a group.
func TestChildContextObject(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"L","End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"W","States":{
			"W":{"Type":"Wait","Seconds":1,"Next":"P"},
			"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","input.$":"$$.Execution.Input",
				"machine.$":"$$.StateMachine.Id"},"End":true}}}}}}`
	x, _ := driveWith(t, mustParse(t, def), `[null,{"a":1}]`, noTasks(t), true)
	var threads []struct {
		ID, Name, Machine string
		Input             json.RawMessage
	}
	if err := json.Unmarshal([]byte(deref(x.Output)), &threads); err != nil || len(threads) != 2 {
		t.Fatalf("output %s: %v", deref(x.Output), err)
	}
	children := x.MapRuns()[0].Children
	for i, want := range []string{"null", `{"a":1}`} {
		c := threads[i]
		if c.ID != children[i].ExecutionArn || c.Name != children[i].Name || string(c.Input) != want ||
			c.Machine != "arn:aws:states:us-east-1:123456789012:stateMachine:sm/L" {
			t.Fatalf("child %d's context: %+v, want %s %s", i, c, children[i].ExecutionArn, want)
		}
	}
	g := startGroupRun(t, def, `[null,{"a":1}]`)
	for g.x.Status == interp.Running && len(g.groups) > 0 {
		g.answer()
	}
	if deref(g.x.Output) != deref(x.Output) {
		t.Fatalf("in groups: %s\nas threads: %s", deref(g.x.Output), deref(x.Output))
	}
}
