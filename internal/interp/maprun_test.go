package interp_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/interp"
)

// distributedMap is a distributed Map over the input whose iterations each run one task.
func distributedMap(settings string) string {
	return `{"StartAt":"M","States":{"M":{"Type":"Map",` + settings + `
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T",
			"States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}},"End":true}}}`
}

// summary describes a Map Run as the tests expect it: status, item counts
// (pending/running/succeeded/failed/aborted), child executions, MaxConcurrency and thresholds.
func summary(m interp.MapRun) string {
	c := m.Items
	return fmt.Sprintf("%s %d/%d/%d/%d/%d exec=%d mc=%d tc=%d tp=%g", m.Status, c.Pending, c.Running, c.Succeeded,
		c.Failed, c.Aborted, len(m.Children), m.MaxConcurrency, m.ToleratedFailureCount, m.ToleratedFailurePercentage)
}

// mapRunDriver steps one execution by hand, keeping the tasks it has open.
type mapRunDriver struct {
	t    *testing.T
	x    *interp.Execution
	now  time.Time
	open []string
}

func (d *mapRunDriver) take(res interp.Result) {
	for _, e := range res.Effects {
		switch e := e.(type) {
		case interp.ScheduleTask:
			d.open = append(d.open, e.TaskID)
		case interp.CancelTask:
			for i, id := range d.open {
				if id == e.TaskID {
					d.open = append(d.open[:i], d.open[i+1:]...)
					break
				}
			}
		}
	}
}

// oldest answers the task scheduled first.
func (d *mapRunDriver) oldest(ok bool) interp.Event {
	if len(d.open) == 0 {
		d.t.Fatal("no task is open")
	}
	id := d.open[0]
	d.open = d.open[1:]
	if ok {
		return interp.TaskSucceeded{TaskID: id, Output: `"done"`}
	}
	return interp.TaskFailed{TaskID: id, Error: "Boom"}
}

func TestMapRunRecord(t *testing.T) {
	intp := func(n int) *int { return &n }
	int64p := func(n int64) *int64 { return &n }
	succeed := func(d *mapRunDriver, _ string) interp.Event { return d.oldest(true) }
	failTask := func(d *mapRunDriver, _ string) interp.Event { return d.oldest(false) }
	update := func(u interp.UpdateMapRun) func(*mapRunDriver, string) interp.Event {
		return func(_ *mapRunDriver, arn string) interp.Event {
			u.MapRunArn = arn
			return u
		}
	}
	type step struct {
		ev   func(d *mapRunDriver, arn string) interp.Event
		want string
	}
	tests := []struct {
		name     string
		settings string
		start    string // the record after Start
		steps    []step
		status   interp.Status
		errName  string
	}{
		{
			name: "the record follows the iterations to the end", settings: `"MaxConcurrency":2,`,
			start: "RUNNING 2/2/0/0/0 exec=2 mc=2 tc=0 tp=0",
			steps: []step{
				{succeed, "RUNNING 1/2/1/0/0 exec=3 mc=2 tc=0 tp=0"},
				{succeed, "RUNNING 0/2/2/0/0 exec=4 mc=2 tc=0 tp=0"},
				{succeed, "RUNNING 0/1/3/0/0 exec=4 mc=2 tc=0 tp=0"},
				{succeed, "SUCCEEDED 0/0/4/0/0 exec=4 mc=2 tc=0 tp=0"},
			},
			status: interp.Succeeded,
		},
		{
			name: "raising MaxConcurrency starts more iterations at once", settings: `"MaxConcurrency":1,`,
			start: "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=0 tp=0",
			steps: []step{
				{update(interp.UpdateMapRun{MaxConcurrency: intp(3)}), "RUNNING 1/3/0/0/0 exec=3 mc=3 tc=0 tp=0"},
				{update(interp.UpdateMapRun{MaxConcurrency: intp(0)}), "RUNNING 0/4/0/0/0 exec=4 mc=0 tc=0 tp=0"},
				{succeed, "RUNNING 0/3/1/0/0 exec=4 mc=0 tc=0 tp=0"},
				{succeed, "RUNNING 0/2/2/0/0 exec=4 mc=0 tc=0 tp=0"},
				{succeed, "RUNNING 0/1/3/0/0 exec=4 mc=0 tc=0 tp=0"},
				{succeed, "SUCCEEDED 0/0/4/0/0 exec=4 mc=0 tc=0 tp=0"},
			},
			status: interp.Succeeded,
		},
		{
			name: "lowering the tolerated failures below those so far fails the run", settings: `"MaxConcurrency":1,"ToleratedFailureCount":2,`,
			start: "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=2 tp=0",
			steps: []step{
				{failTask, "RUNNING 2/1/0/1/0 exec=2 mc=1 tc=2 tp=0"},
				{update(interp.UpdateMapRun{ToleratedFailureCount: int64p(0)}), "FAILED 2/0/0/1/1 exec=2 mc=1 tc=0 tp=0"},
			},
			status: interp.Failed, errName: "States.ExceedToleratedFailureThreshold",
		},
		{
			name: "raising the tolerated failures lets the run go on", settings: `"MaxConcurrency":1,`,
			start: "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=0 tp=0",
			steps: []step{
				{update(interp.UpdateMapRun{ToleratedFailurePercentage: ptr(50.0)}), "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=0 tp=50"},
				{failTask, "RUNNING 2/1/0/1/0 exec=2 mc=1 tc=0 tp=50"},
				{failTask, "RUNNING 1/1/0/2/0 exec=3 mc=1 tc=0 tp=50"},
				{failTask, "FAILED 1/0/0/3/0 exec=3 mc=1 tc=0 tp=50"},
			},
			status: interp.Failed, errName: "States.ExceedToleratedFailureThreshold",
		},
		{
			name: "a failed iteration without thresholds fails the run and aborts the others", settings: ``,
			start: "RUNNING 0/4/0/0/0 exec=4 mc=0 tc=0 tp=0",
			steps: []step{
				{failTask, "FAILED 0/0/0/1/3 exec=4 mc=0 tc=0 tp=0"},
			},
			status: interp.Failed, errName: "Boom",
		},
		{
			name: "stopping the execution aborts the run", settings: `"MaxConcurrency":1,`,
			start: "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=0 tp=0",
			steps: []step{
				{succeed, "RUNNING 2/1/1/0/0 exec=2 mc=1 tc=0 tp=0"},
				{func(*mapRunDriver, string) interp.Event { return interp.Stop{} }, "ABORTED 2/0/1/0/1 exec=2 mc=1 tc=0 tp=0"},
			},
			status: interp.Aborted,
		},
		{
			name: "an update for another Map Run changes nothing", settings: `"MaxConcurrency":1,`,
			start: "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=0 tp=0",
			steps: []step{
				{func(*mapRunDriver, string) interp.Event {
					return interp.UpdateMapRun{MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:sm/x:exec-99", MaxConcurrency: intp(5)}
				}, "RUNNING 3/1/0/0/0 exec=1 mc=1 tc=0 tp=0"},
			},
			status: interp.Running,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := mustParse(t, distributedMap(tt.settings))
			x, res, err := interp.Start(def, identity(), `[1,2,3,4]`, t0)
			if err != nil {
				t.Fatal(err)
			}
			d := &mapRunDriver{t: t, x: x, now: t0}
			d.take(res)
			runs := x.MapRuns()
			if len(runs) != 1 {
				t.Fatalf("MapRuns() = %+v, want one", runs)
			}
			arn := runs[0].Arn
			if got := summary(runs[0]); got != tt.start {
				t.Fatalf("after Start: %s\nwant         %s", got, tt.start)
			}
			for i, s := range tt.steps {
				// Every step starts from a restored snapshot, as in the engine, which must
				// report the same record.
				snap, err := d.x.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				before := d.x.MapRuns()
				if d.x, err = interp.Restore(def, snap); err != nil {
					t.Fatal(err)
				}
				if after := d.x.MapRuns(); !reflect.DeepEqual(before, after) {
					t.Fatalf("step %d: restored record differs:\n%+v\n%+v", i, before, after)
				}
				d.now = d.now.Add(time.Second)
				res, err := interp.Step(d.x, s.ev(d, arn), d.now)
				if err != nil {
					t.Fatal(err)
				}
				d.take(res)
				if got := summary(d.x.MapRuns()[0]); got != s.want {
					t.Fatalf("after step %d: %s\nwant            %s", i, got, s.want)
				}
			}
			errName := ""
			if d.x.Error != nil {
				errName = *d.x.Error
			}
			if d.x.Status != tt.status || errName != tt.errName {
				t.Fatalf("execution %s %q, want %s %q", d.x.Status, errName, tt.status, tt.errName)
			}
			m := d.x.MapRuns()[0]
			if (m.StopDate != nil) != (m.Status != interp.MapRunRunning) {
				t.Errorf("status %s with stop date %v", m.Status, m.StopDate)
			}
			for _, c := range m.Children {
				if (c.StopDate != nil) != (c.Status != interp.Running) || c.StartDate.Before(t0) {
					t.Errorf("child %s: status %s, start %v, stop %v", c.Name, c.Status, c.StartDate, c.StopDate)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestMapRunNames checks the shapes of the ARNs a Map Run reports, and that the execution can
// be found from the Map Run's ARN.
func TestMapRunNames(t *testing.T) {
	uuid := `[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	tests := []struct {
		name, label, execType  string
		mapRun, machine, child string
	}{
		{
			name: "labelled, standard children", label: `"Label":"Files",`, execType: "STANDARD",
			mapRun:  `arn:aws:states:us-east-1:123456789012:mapRun:sm/Files:exec-\d+`,
			machine: `arn:aws:states:us-east-1:123456789012:stateMachine:sm/Files`,
			child:   `arn:aws:states:us-east-1:123456789012:execution:sm/Files:` + uuid,
		},
		{
			name: "unlabelled, express children", execType: "EXPRESS",
			mapRun:  `arn:aws:states:us-east-1:123456789012:mapRun:sm/` + uuid + `:exec-\d+`,
			machine: `arn:aws:states:us-east-1:123456789012:stateMachine:sm/` + uuid,
			child:   `arn:aws:states:us-east-1:123456789012:express:sm/` + uuid + `:` + uuid + `:` + uuid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := mustParse(t, `{"StartAt":"The Map: all","States":{"The Map: all":{"Type":"Map",`+tt.label+`
				"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"`+tt.execType+`"},"StartAt":"W",
					"States":{"W":{"Type":"Wait","Seconds":5,"End":true}}},"End":true}}}`)
			x, _, err := interp.Start(def, identity(), `[1,2]`, t0)
			if err != nil {
				t.Fatal(err)
			}
			m := x.MapRuns()[0]
			check := func(what, got, pattern string) {
				if !regexp.MustCompile(`^` + pattern + `$`).MatchString(got) {
					t.Errorf("%s %s does not match %s", what, got, pattern)
				}
			}
			check("map run", m.Arn, tt.mapRun)
			check("state machine", m.StateMachineArn, tt.machine)
			if len(m.Children) != 2 || m.Children[0].ExecutionArn == m.Children[1].ExecutionArn {
				t.Fatalf("children %+v", m.Children)
			}
			for _, c := range m.Children {
				check("child", c.ExecutionArn, tt.child)
				if !strings.Contains(c.ExecutionArn, ":"+c.Name) {
					t.Errorf("child %s is not named %s", c.ExecutionArn, c.Name)
				}
			}
			sm, exec, err := interp.ParseMapRunArn(m.Arn)
			if err != nil || sm != "sm" || exec != "exec" {
				t.Errorf("ParseMapRunArn(%s) = %q, %q, %v", m.Arn, sm, exec, err)
			}
		})
	}
}

func TestParseMapRunArnRefuses(t *testing.T) {
	for _, arn := range []string{
		"arn:aws:states:us-east-1:123456789012:execution:sm:exec",
		"arn:aws:states:us-east-1:123456789012:mapRun:sm:exec-1",
		"arn:aws:states:us-east-1:123456789012:mapRun:sm/l:exec",
		"arn:aws:states:us-east-1:123456789012:mapRun:sm/l:exec-x",
		"arn:aws:states:us-east-1:123456789012:mapRun:/l:exec-1",
		"arn:aws:states:us-east-1:123456789012:mapRun:sm/l:-1",
	} {
		if sm, exec, err := interp.ParseMapRunArn(arn); err == nil {
			t.Errorf("ParseMapRunArn(%s) = %q, %q", arn, sm, exec)
		}
	}
}

// TestInlineMapKeepsNoRecord: only distributed Maps are Map Runs.
func TestInlineMapKeepsNoRecord(t *testing.T) {
	def := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`)
	x, _ := drive(t, def, `[1,2,3]`, noTasks(t))
	if runs := x.MapRuns(); runs != nil {
		t.Fatalf("MapRuns() = %+v", runs)
	}
}

// TestMapRunAbortedWithItsParallel: a Map Run ends ABORTED, with its running children, when a
// sibling branch fails the Parallel around it, and when the execution times out.
func TestMapRunAbortedWithItsParallel(t *testing.T) {
	mapBranch := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"T",
			"States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}},"End":true}}}`
	tests := []struct {
		name  string
		def   string
		event func(open []interp.ScheduleTask, timers []interp.StartTimer) interp.Event
		want  interp.Status
	}{
		{
			name: "a sibling branch fails",
			def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[` + mapBranch + `,
				{"StartAt":"Other","States":{"Other":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}]}}}`,
			event: func(open []interp.ScheduleTask, _ []interp.StartTimer) interp.Event {
				for _, st := range open {
					if st.StateName == "Other" {
						return interp.TaskFailed{TaskID: st.TaskID, Error: "Boom"}
					}
				}
				return nil
			},
			want: interp.Failed,
		},
		{
			name: "the execution times out",
			def:  `{"TimeoutSeconds":60,` + mapBranch[1:],
			event: func(_ []interp.ScheduleTask, timers []interp.StartTimer) interp.Event {
				return interp.TimerFired{TimerID: timers[0].TimerID}
			},
			want: interp.TimedOut,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := mustParse(t, tt.def)
			x, res, err := interp.Start(def, identity(), `[1,2,3]`, t0)
			if err != nil {
				t.Fatal(err)
			}
			var open []interp.ScheduleTask
			var timers []interp.StartTimer
			for _, e := range res.Effects {
				switch e := e.(type) {
				case interp.ScheduleTask:
					open = append(open, e)
				case interp.StartTimer:
					timers = append(timers, e)
				}
			}
			ev := tt.event(open, timers)
			if ev == nil {
				t.Fatalf("no event to send; tasks %+v", open)
			}
			if _, err := interp.Step(x, ev, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if x.Status != tt.want {
				t.Fatalf("execution %s, want %s", x.Status, tt.want)
			}
			m := x.MapRuns()[0]
			if got := summary(m); got != "ABORTED 1/0/0/0/2 exec=2 mc=2 tc=0 tp=0" || m.StopDate == nil || !m.StopDate.Equal(t0.Add(time.Minute)) {
				t.Fatalf("Map Run %s, stopped %v", got, m.StopDate)
			}
		})
	}
}
