package interp_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
)

// lines renders events as "id Type <previous id" with the details a test looks at.
func lines(events []history.Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%d %s <%d", e.ID, e.Type, e.PreviousEventID)
		d := e.Details
		if d.Input != nil && strings.HasPrefix(e.Type, "Execution") {
			fmt.Fprintf(&b, " in=%s", *d.Input)
		}
		if d.Output != nil {
			fmt.Fprintf(&b, " out=%s", *d.Output)
		}
		if d.Error != nil {
			fmt.Fprintf(&b, " error=%s", *d.Error)
		}
		if d.RedriveCount != nil {
			fmt.Fprintf(&b, " redrives=%d", *d.RedriveCount)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestChildHistories: each child execution of a Map Run records its own history, with ids of
// its own, from ExecutionStarted (the item as input) to how it ended; none of it goes to the
// parent's history, whose ids stay gap-free.
func TestChildHistories(t *testing.T) {
	const processor = `"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"%s"},"StartAt":"P",
		"States":{"P":{"Type":"Pass","Next":"T"},"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}`
	machine := func(execType, settings string) string {
		return `{"StartAt":"M","States":{"M":{"Type":"Map",` + settings + fmt.Sprintf(processor, execType) + `,"End":true}}}`
	}
	type answer struct{ item, out string } // out "": the task fails
	tests := []struct {
		name     string
		def      string
		answers  []answer
		children []string // by item, in the order of the input
		status   interp.Status
	}{
		{
			name: "succeeded and failed children, tolerated", def: machine("STANDARD", `"ToleratedFailureCount":1,`),
			answers: []answer{{`"a"`, `"A"`}, {`"b"`, ""}},
			children: []string{
				"1 ExecutionStarted <0 in=\"a\"\n2 PassStateEntered <1\n3 PassStateExited <2 out=\"a\"\n4 TaskStateEntered <3\n" +
					"5 TaskScheduled <4\n6 TaskStarted <5\n7 TaskSucceeded <6 out=\"A\"\n8 TaskStateExited <7 out=\"A\"\n" +
					"9 ExecutionSucceeded <8 out=\"A\"\n",
				"1 ExecutionStarted <0 in=\"b\"\n2 PassStateEntered <1\n3 PassStateExited <2 out=\"b\"\n4 TaskStateEntered <3\n" +
					"5 TaskScheduled <4\n6 TaskStarted <5\n7 TaskFailed <6 error=Boom\n8 ExecutionFailed <7 error=Boom\n",
			},
			status: interp.Succeeded,
		},
		{
			name: "a failure past the threshold aborts the running children", def: machine("STANDARD", ""),
			answers: []answer{{`"b"`, ""}},
			children: []string{
				"1 ExecutionStarted <0 in=\"a\"\n2 PassStateEntered <1\n3 PassStateExited <2 out=\"a\"\n4 TaskStateEntered <3\n" +
					"5 TaskScheduled <4\n6 ExecutionAborted <0\n",
				"1 ExecutionStarted <0 in=\"b\"\n2 PassStateEntered <1\n3 PassStateExited <2 out=\"b\"\n4 TaskStateEntered <3\n" +
					"5 TaskScheduled <4\n6 TaskStarted <5\n7 TaskFailed <6 error=Boom\n8 ExecutionFailed <7 error=Boom\n",
			},
			status: interp.Failed,
		},
		{
			name: "EXPRESS children keep only how they started and ended", def: machine("EXPRESS", ""),
			answers: []answer{{`"a"`, `"A"`}, {`"b"`, `"B"`}},
			children: []string{
				"1 ExecutionStarted <0 in=\"a\"\n2 ExecutionSucceeded <1 out=\"A\"\n",
				"1 ExecutionStarted <0 in=\"b\"\n2 ExecutionSucceeded <1 out=\"B\"\n",
			},
			status: interp.Succeeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startMapRun(t, tt.def, `["a","b"]`)
			for i, a := range tt.answers {
				d.answer(a.item, a.out, t0.Add(time.Duration(i+1)*time.Second))
			}
			if d.x.Status != tt.status {
				t.Fatalf("execution %s, want %s", d.x.Status, tt.status)
			}
			checkGapFree(t, d.events)
			m := d.mapRunOf()
			if len(m.Children) != len(tt.children) || len(d.children) != len(tt.children) {
				t.Fatalf("%d children in the record and %d histories, want %d", len(m.Children), len(d.children), len(tt.children))
			}
			for i, c := range m.Children {
				if got := lines(d.children[c.ExecutionArn]); got != tt.children[i] {
					t.Errorf("child %d (%s) history:\n%s\nwant:\n%s", i, c.Status, got, tt.children[i])
				}
				if d.keys[c.ExecutionArn] != int64(i) {
					t.Errorf("child %d has key %d", i, d.keys[c.ExecutionArn])
				}
			}
		})
	}
}

// TestChildHistoryRedriven: a child execution run again by its Map Run's redrive goes on with
// its own history: ExecutionRedriven after the event it ended with.
func TestChildHistoryRedriven(t *testing.T) {
	def := distributedMap(`"ToleratedFailureCount":0,`)
	d := startMapRun(t, def, `["a","b"]`)
	d.answer(`"a"`, `"A"`, t0)
	d.answer(`"b"`, "", t0.Add(time.Second))
	d.redrive(t0.Add(time.Minute), nil)
	d.answer(`"b"`, `"B"`, t0.Add(2*time.Minute))
	if d.x.Status != interp.Succeeded {
		t.Fatalf("after the redrive: %s, want SUCCEEDED", d.x.Status)
	}
	m := d.mapRunOf()
	want := []string{
		"1 ExecutionStarted <0 in=\"a\"\n2 TaskStateEntered <1\n3 TaskScheduled <2\n4 TaskStarted <3\n" +
			"5 TaskSucceeded <4 out=\"A\"\n6 TaskStateExited <5 out=\"A\"\n7 ExecutionSucceeded <6 out=\"A\"\n",
		"1 ExecutionStarted <0 in=\"b\"\n2 TaskStateEntered <1\n3 TaskScheduled <2\n4 TaskStarted <3\n" +
			"5 TaskFailed <4 error=Boom\n6 ExecutionFailed <5 error=Boom\n7 ExecutionRedriven <6 redrives=1\n" +
			"8 TaskStateEntered <7\n9 TaskScheduled <8\n10 TaskStarted <9\n11 TaskSucceeded <10 out=\"B\"\n" +
			"12 TaskStateExited <11 out=\"B\"\n13 ExecutionSucceeded <12 out=\"B\"\n",
	}
	for i, c := range m.Children {
		if got := lines(d.children[c.ExecutionArn]); got != want[i] {
			t.Errorf("child %d history:\n%s\nwant:\n%s", i, got, want[i])
		}
	}
}

// checkGapFree checks that events are numbered 1, 2, 3…
func checkGapFree(t *testing.T, events []history.Event) {
	t.Helper()
	for i, e := range events {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has id %d: %s", i, e.ID, lines(events))
		}
	}
}

// TestChildStopped: stopping one child execution (StopExecution of its ARN) aborts that child
// alone, and its Map counts it as a failed item; stopping the parent aborts every running
// child.
func TestChildStopped(t *testing.T) {
	stop := func(err string) *string { return &err }
	tests := []struct {
		name     string
		settings string
		stopKid  bool // else the parent is stopped
		status   interp.Status
		errName  string
		kids     string // the children's last events
	}{
		{name: "a tolerated stop", settings: `"ToleratedFailureCount":1,`, stopKid: true, status: interp.Succeeded,
			kids: "4 ExecutionAborted <0 error=Stopped|7 ExecutionSucceeded <6 out=\"B\""},
		{name: "a stop past the threshold fails the Map", settings: `"ToleratedFailureCount":0,`, stopKid: true,
			status: interp.Failed, errName: "States.ExceedToleratedFailureThreshold",
			kids: "4 ExecutionAborted <0 error=Stopped|4 ExecutionAborted <0"},
		{name: "without thresholds the Map fails with the stop's error", stopKid: true, status: interp.Failed, errName: "Stopped",
			kids: "4 ExecutionAborted <0 error=Stopped|4 ExecutionAborted <0"},
		{name: "stopping the parent aborts its children", status: interp.Aborted, errName: "Stopped",
			kids: "4 ExecutionAborted <0|4 ExecutionAborted <0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := distributedMap(tt.settings)
			d := startMapRun(t, def, `["a","b"]`)
			ev := interp.Stop{Error: stop("Stopped")}
			if tt.stopKid {
				ev.Child = d.mapRunOf().Children[0].ExecutionArn
			}
			res, err := interp.Step(d.x, ev, t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			d.take(res)
			if !slices.ContainsFunc(res.Effects, func(e interp.Effect) bool { _, ok := e.(interp.CancelTask); return ok }) {
				t.Fatalf("the stop cancelled no task: %#v", res.Effects)
			}
			if tt.status == interp.Succeeded {
				d.answer(`"b"`, `"B"`, t0.Add(2*time.Second))
			}
			if d.x.Status != tt.status || tt.errName != "" && (d.x.Error == nil || *d.x.Error != tt.errName) {
				t.Fatalf("execution %s %v, want %s %s", d.x.Status, d.x.Error, tt.status, tt.errName)
			}
			var last []string
			for _, c := range d.mapRunOf().Children {
				h := d.children[c.ExecutionArn]
				last = append(last, strings.TrimSuffix(lines(h[len(h)-1:]), "\n"))
			}
			if got := strings.Join(last, "|"); got != tt.kids {
				t.Fatalf("children end with %s, want %s", got, tt.kids)
			}
			if c := d.mapRunOf().Children[0]; c.Status != interp.Aborted || c.StopDate == nil {
				t.Fatalf("first child %s, stopped %v", c.Status, c.StopDate)
			}
		})
	}
}

// TestChildHistoryResumed: a Map Run's redrive redrives its STANDARD child executions that
// failed as RedriveExecution redrives an execution: each resumes in the state it failed in,
// with the variables it had, also when it starts only after the redrive's first burst
// (MaxConcurrency), from the point kept in the snapshot.
func TestChildHistoryResumed(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"ToleratedFailureCount":1,"End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","Assign":{"seen.$":"$"},"Next":"T"},
				"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"v.$":"$seen"},"End":true}}}}}}`
	d := startMapRun(t, def, `["a","b","c"]`)
	d.answer(`{"v":"a"}`, "", t0.Add(time.Second))
	d.answer(`{"v":"b"}`, "", t0.Add(2*time.Second))
	if d.x.Status != interp.Failed {
		t.Fatalf("first run: %s, want FAILED", d.x.Status)
	}
	d.redrive(t0.Add(time.Minute), nil)
	d.answer(`{"v":"a"}`, `"A"`, t0.Add(2*time.Minute))
	d.answer(`{"v":"b"}`, `"B"`, t0.Add(3*time.Minute))
	d.answer(`{"v":"c"}`, `"C"`, t0.Add(4*time.Minute))
	if d.x.Status != interp.Succeeded || *d.x.Output != `["A","B","C"]` {
		t.Fatalf("after the redrive: %s %v", d.x.Status, d.x.Output)
	}
	resumed := func(item string) string {
		return "1 ExecutionStarted <0 in=\"" + item + "\"\n2 PassStateEntered <1\n3 PassStateExited <2 out=\"" + item + "\"\n" +
			"4 TaskStateEntered <3\n5 TaskScheduled <4\n6 TaskStarted <5\n7 TaskFailed <6 error=Boom\n8 ExecutionFailed <7 error=Boom\n" +
			"9 ExecutionRedriven <8 redrives=1\n10 TaskStateEntered <9\n11 TaskScheduled <10\n12 TaskStarted <11\n" +
			"13 TaskSucceeded <12 out=\"" + strings.ToUpper(item) + "\"\n14 TaskStateExited <13 out=\"" + strings.ToUpper(item) + "\"\n" +
			"15 ExecutionSucceeded <14 out=\"" + strings.ToUpper(item) + "\"\n"
	}
	want := []string{resumed("a"), resumed("b"),
		"1 ExecutionStarted <0 in=\"c\"\n2 PassStateEntered <1\n3 PassStateExited <2 out=\"c\"\n4 TaskStateEntered <3\n" +
			"5 TaskScheduled <4\n6 TaskStarted <5\n7 TaskSucceeded <6 out=\"C\"\n8 TaskStateExited <7 out=\"C\"\n9 ExecutionSucceeded <8 out=\"C\"\n"}
	for i, c := range d.mapRunOf().Children {
		if got := lines(d.children[c.ExecutionArn]); got != want[i] {
			t.Errorf("child %d history:\n%s\nwant:\n%s", i, got, want[i])
		}
	}
}

// TestExpressChildTimesOut: an EXPRESS child execution still running five minutes after it
// started times out, as an Express execution does; its Map counts it as a failed item.
func TestExpressChildTimesOut(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,"End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"T",
			"States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}}}}`
	d := startMapRun(t, def, `["a","b"]`)
	d.answer(`"b"`, `"B"`, t0.Add(time.Minute))
	// The first child's five minutes: a quota, which runners do not scale.
	first := d.timers[0]
	if !first.Quota || !first.Due.Equal(t0.Add(interp.ExpressMaxDuration)) {
		t.Fatalf("child timer %+v", first)
	}
	res, err := interp.Step(d.x, interp.TimerFired{TimerID: first.TimerID}, t0.Add(interp.ExpressMaxDuration))
	if err != nil {
		t.Fatal(err)
	}
	d.take(res)
	if d.x.Status != interp.Succeeded || *d.x.Output != `[null,"B"]` {
		t.Fatalf("execution %s %v", d.x.Status, d.x.Output)
	}
	m := d.mapRunOf()
	if m.Executions.TimedOut != 1 || m.Children[0].Status != interp.TimedOut || m.Children[0].StopDate == nil {
		t.Fatalf("Map Run %+v", m)
	}
	want := "1 ExecutionStarted <0 in=\"a\"\n2 ExecutionTimedOut <1 error=States.Timeout\n"
	if got := lines(d.children[m.Children[0].ExecutionArn]); got != want {
		t.Fatalf("timed-out child's history:\n%s\nwant:\n%s", got, want)
	}
}

// TestMapRunStartsChildrenInSteps: a distributed Map over more items than one step may start
// children for goes on in steps of its own, at once, and ends as if it had run in one.
func TestMapRunStartsChildrenInSteps(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","End":true}}}}}}`
	n := 2*interp.MaxChildStartsPerStep + 5
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	d := startMapRun(t, def, "["+strings.Join(items, ",")+"]")
	for step := 1; ; step++ {
		m := d.mapRunOf()
		if d.x.Status != interp.Running {
			break
		}
		var timers []interp.StartTimer // but the execution's year
		for _, tm := range d.timers {
			if !tm.Quota {
				timers = append(timers, tm)
			}
		}
		if want := int64(step * interp.MaxChildStartsPerStep); m.Items.Succeeded != want || len(timers) != step {
			t.Fatalf("after step %d: %d items succeeded, %d timers; want %d and one timer a step", step, m.Items.Succeeded, len(timers), want)
		}
		next := timers[len(timers)-1]
		if !next.Due.Equal(t0) {
			t.Fatalf("the next children are due at %v, want at once (%v)", next.Due, t0)
		}
		res, err := interp.Step(d.x, interp.TimerFired{TimerID: next.TimerID}, t0)
		if err != nil {
			t.Fatal(err)
		}
		d.take(res)
	}
	if d.x.Status != interp.Succeeded || *d.x.Output != "["+strings.Join(items, ",")+"]" || len(d.children) != n {
		t.Fatalf("execution %s with %d child histories", d.x.Status, len(d.children))
	}
	checkGapFree(t, d.events)
}

// TestChildHistoryLimit: a child execution's history stops at 25,000 events, as an
// execution's does: its last event is ExecutionFailed (States.Runtime), the Map takes it as a
// failed item, and the other children go on.
func TestChildHistoryLimit(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,"End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Loop",
			"States":{"Loop":{"Type":"Choice","Choices":[{"Variable":"$","StringEquals":"forever","Next":"Again"}],"Default":"Done"},
				"Again":{"Type":"Pass","Next":"Loop"},"Done":{"Type":"Pass","End":true}}}}}}`
	d := startMapRun(t, def, `["forever","once"]`)
	if d.x.Status != interp.Succeeded || *d.x.Output != `[null,"once"]` {
		t.Fatalf("execution %s %v", d.x.Status, d.x.Output)
	}
	m := d.mapRunOf()
	h := d.children[m.Children[0].ExecutionArn]
	last := h[len(h)-1]
	if len(h) != interp.MaxHistoryEvents || last.ID != interp.MaxHistoryEvents || last.Type != "ExecutionFailed" ||
		*last.Details.Error != "States.Runtime" || !strings.Contains(*last.Details.Cause, "maximum number of history events") {
		t.Fatalf("looping child: %d events, last %s", len(h), lines(h[len(h)-1:]))
	}
	if m.Children[0].Status != interp.Failed || m.Children[1].Status != interp.Succeeded {
		t.Fatalf("children %s and %s", m.Children[0].Status, m.Children[1].Status)
	}
	checkGapFree(t, d.events)
}

// TestExpressBurstLimit: an Express execution, or an EXPRESS child, that loops through states
// without ever waiting times out once it made ExpressBurstLimit transitions in one step, as it
// would on AWS when its five minutes ran out, instead of holding the step forever.
func TestExpressBurstLimit(t *testing.T) {
	const loop = `"StartAt":"Loop","States":{"Loop":{"Type":"Choice","Choices":[{"Variable":"$","StringEquals":"forever","Next":"Again"}],"Default":"Done"},
		"Again":{"Type":"Pass","Next":"Loop"},"Done":{"Type":"Pass","End":true}}`
	t.Run("execution", func(t *testing.T) {
		id := identity()
		id.Express = true
		x, res, err := interp.Start(mustParse(t, `{`+loop+`}`), id, `"forever"`, t0)
		if err != nil {
			t.Fatal(err)
		}
		last := res.Events[len(res.Events)-1]
		if x.Status != interp.TimedOut || last.Type != "ExecutionTimedOut" || *last.Details.Error != "States.Timeout" {
			t.Fatalf("execution %s, last event %s", x.Status, lines(res.Events[len(res.Events)-1:]))
		}
	})
	t.Run("EXPRESS child", func(t *testing.T) {
		def := `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,"End":true,
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},` + loop + `}}}}`
		d := startMapRun(t, def, `["forever","once"]`)
		if d.x.Status != interp.Succeeded || *d.x.Output != `[null,"once"]` {
			t.Fatalf("execution %s %v", d.x.Status, d.x.Output)
		}
		m := d.mapRunOf()
		want := "1 ExecutionStarted <0 in=\"forever\"\n2 ExecutionTimedOut <1 error=States.Timeout\n"
		if got := lines(d.children[m.Children[0].ExecutionArn]); got != want || m.Executions.TimedOut != 1 {
			t.Fatalf("looping child (%d timed out):\n%s\nwant:\n%s", m.Executions.TimedOut, got, want)
		}
	})
}
