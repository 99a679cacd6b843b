package interp_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// FuzzExecute runs arbitrary definitions on arbitrary inputs, answering their tasks (by turns
// with their own parameters or with a failure, as outcomes says) and firing their timers in
// due order: no definition may make the interpreter panic or hold a step forever, and every
// history, the execution's and each child's, numbers its events 1, 2, 3…
func FuzzExecute(f *testing.F) {
	for _, seed := range []string{
		`{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"a.$":"$.x"},"ResultPath":"$.r","End":true}}}`,
		`{"StartAt":"L","States":{"L":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":3,"Next":"D"}],"Default":"I"},"I":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"Next":"L"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"L","States":{"L":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"D"}],"Default":"A"},"A":{"Type":"Pass","Next":"L"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2,"IntervalSeconds":1}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}],"End":true},"F":{"Type":"Fail","Error":"E"}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}},"ToleratedFailureCount":1,"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}},"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":2,"End":true}}},{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}],"End":true}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Assign":{"v":"{% $states.input %}"},"Output":"{% $v %}","Next":"M"},"M":{"Type":"Map","Items":"{% [1,2] %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
	} {
		f.Add([]byte(seed), []byte(`{"x":1,"n":0,"items":[1,2,3]}`), []byte{0, 1, 0})
	}
	f.Fuzz(func(t *testing.T, def, input, outcomes []byte) {
		for _, typ := range []asl.MachineType{asl.Standard, asl.Express} {
			sm, err := asl.Parse(def, asl.ParseOptions{Type: typ})
			if err != nil {
				continue
			}
			id := identity()
			id.Express = typ == asl.Express
			x, res, err := interp.Start(sm, id, string(input), t0)
			if err != nil {
				return // an input that is no JSON
			}
			d := &executeDriver{t: t, now: t0, children: map[string]int64{}}
			d.take(res)
			for step := 0; step < 200 && x.Status == interp.Running; step++ {
				ev := d.next(outcomes, step)
				if ev == nil {
					break
				}
				if res, err = interp.Step(x, ev, d.now); err != nil {
					t.Fatalf("Step: %v", err)
				}
				d.take(res)
			}
		}
	})
}

// executeDriver plays the world around an execution for FuzzExecute.
type executeDriver struct {
	t        *testing.T
	now      time.Time
	lastID   int64
	tasks    []interp.ScheduleTask
	timers   []interp.StartTimer
	children map[string]int64 // the last event id of each child's history
}

func (d *executeDriver) take(res interp.Result) {
	d.t.Helper()
	d.checkIDs("execution", &d.lastID, res.Events)
	for _, c := range res.Children {
		last := d.children[c.ExecutionArn]
		d.checkIDs(c.ExecutionArn, &last, c.Events)
		d.children[c.ExecutionArn] = last
	}
	for _, e := range res.Effects {
		switch e := e.(type) {
		case interp.ScheduleTask:
			d.tasks = append(d.tasks, e)
		case interp.StartTimer:
			d.timers = append(d.timers, e)
		case interp.CancelTask:
			for i, tk := range d.tasks {
				if tk.TaskID == e.TaskID {
					d.tasks = append(d.tasks[:i], d.tasks[i+1:]...)
					break
				}
			}
		case interp.CancelTimer:
			for i, tm := range d.timers {
				if tm.TimerID == e.TimerID {
					d.timers = append(d.timers[:i], d.timers[i+1:]...)
					break
				}
			}
		}
	}
}

// checkIDs checks that events go on from *last, one by one (a redriven child's go on after
// its ExecutionRedriven), and moves *last on.
func (d *executeDriver) checkIDs(what string, last *int64, events []history.Event) {
	d.t.Helper()
	for _, e := range events {
		if e.ID != *last+1 {
			d.t.Fatalf("%s: event %d (%s) after %d", what, e.ID, e.Type, *last)
		}
		*last = e.ID
	}
}

// next answers the oldest task, by outcomes, else fires the earliest timer.
func (d *executeDriver) next(outcomes []byte, step int) interp.Event {
	if len(d.tasks) > 0 {
		tk := d.tasks[0]
		d.tasks = d.tasks[1:]
		if len(outcomes) > 0 && outcomes[step%len(outcomes)]%2 == 1 {
			return interp.TaskFailed{TaskID: tk.TaskID, Error: "Boom"}
		}
		return interp.TaskSucceeded{TaskID: tk.TaskID, Output: jsonv.String(tk.Parameters)}
	}
	if len(d.timers) == 0 {
		return nil
	}
	sort.SliceStable(d.timers, func(i, j int) bool { return d.timers[i].Due.Before(d.timers[j].Due) })
	tm := d.timers[0]
	d.timers = d.timers[1:]
	if tm.Due.After(d.now) {
		d.now = tm.Due
	}
	return interp.TimerFired{TimerID: tm.TimerID}
}
