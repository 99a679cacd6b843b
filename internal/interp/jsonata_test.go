package interp_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// assignments renders the variables each StateExited event assigned: "A{x=1,y="s"} B{…}".
func assignments(events []history.Event) string {
	var parts []string
	for _, e := range events {
		if len(e.Details.AssignedVariables) == 0 {
			continue
		}
		var vars []string
		for _, a := range e.Details.AssignedVariables {
			vars = append(vars, a.Name+"="+a.Value)
		}
		parts = append(parts, e.Details.Name+"{"+strings.Join(vars, ",")+"}")
	}
	return strings.Join(parts, " ")
}

// evaluations renders the EvaluationFailed events: "State@Location: cause".
func evaluations(events []history.Event) string {
	var parts []string
	for _, e := range events {
		if e.Type == "EvaluationFailed" {
			parts = append(parts, fmt.Sprintf("%s@%s: %s", e.Details.State, e.Details.Location, deref(e.Details.Cause)))
		}
	}
	return strings.Join(parts, "\n")
}

// echo answers every task with its parameters.
func echo(st interp.ScheduleTask) interp.Event {
	return interp.TaskSucceeded{TaskID: st.TaskID, Output: string(jsonv.Append(nil, st.Parameters))}
}

// failing answers every task with an error.
func failing(st interp.ScheduleTask) interp.Event {
	return interp.TaskFailed{TaskID: st.TaskID, Error: "Boom", Cause: "it broke"}
}

func TestJSONataAndVariables(t *testing.T) {
	for _, tc := range []struct {
		name, def, input string
		answer           func(interp.ScheduleTask) interp.Event
		status           interp.Status
		output           string // JSON, compared as text after compacting
		rawOutput        string // the output's exact text, when given
		errName, cause   string
		events           string // types(events), when given
		assigned         string // assignments(events), when given
		evaluated        string // evaluations(events), when given
	}{
		{
			name: "variables are visible once the assigning state is left",
			def: `{"StartAt":"A","States":{
				"A":{"Type":"Pass","Assign":{"x.$":"$.v"},"Next":"B"},
				"B":{"Type":"Pass","Parameters":{"old.$":"$x"},"Assign":{"x":2,"seen.$":"$.old"},"ResultPath":"$.p","OutputPath":"$x","Next":"C"},
				"C":{"Type":"Pass","QueryLanguage":"JSONata","Output":{"x":"{% $x %}","seen":"{% $seen %}"},"End":true}}}`,
			input: `{"v":1}`, status: interp.Succeeded, output: `{"x":2,"seen":1}`,
			assigned: `A{x=1} B{x=2,seen=1}`,
		},
		{
			name:  "JSONPath Assign reads the result of a Pass",
			def:   `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"r":"res"},"ResultPath":"$.out","Assign":{"a.$":"$.r","b.$":"$$.State.Name"},"End":true}}}`,
			input: `{"i":0}`, status: interp.Succeeded, output: `{"i":0,"out":{"r":"res"}}`, assigned: `A{a="res",b="A"}`,
		},
		{
			name: "JSONPath Assign reads a Task's result after ResultSelector",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"value":7},
				"ResultSelector":{"v.$":"$.value"},"Assign":{"got.$":"$.v"},"ResultPath":"$.res","End":true}}}`,
			input: `{"i":0}`, answer: echo, status: interp.Succeeded, output: `{"i":0,"res":{"v":7}}`, assigned: `T{got=7}`,
		},
		{
			name: "a JSONata Task reads $states.input and $states.result",
			def: `{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
				"Arguments":{"n":"{% $states.input.n * 2 %}","token":"{% $exists($states.context.Task.Token) %}"},
				"Assign":{"sum":"{% $states.input.n + $states.result.n %}"},"Output":{"in":"{% $states.input %}","res":"{% $states.result %}"},"End":true}}}`,
			input: `{"n":3}`, answer: echo, status: interp.Succeeded, output: `{"in":{"n":3},"res":{"n":6,"token":false}}`, assigned: `T{sum=9}`,
		},
		{
			name: "Parallel branches read outer variables and assign their own",
			def: `{"StartAt":"A","States":{
				"A":{"Type":"Pass","Assign":{"x":1},"Next":"P"},
				"P":{"Type":"Parallel","Branches":[
					{"StartAt":"B1","States":{"B1":{"Type":"Pass","Assign":{"x":10,"y.$":"$x"},"Next":"B2"},"B2":{"Type":"Pass","Parameters":{"x.$":"$x","y.$":"$y"},"End":true}}},
					{"StartAt":"C1","States":{"C1":{"Type":"Pass","Parameters":{"x.$":"$x"},"End":true}}}],
					"Assign":{"z.$":"$[0].x"},"Next":"D"},
				"D":{"Type":"Pass","QueryLanguage":"JSONata","Output":{"x":"{% $x %}","z":"{% $z %}","y":"{% $exists($y) %}"},"End":true}}}`,
			input: `{}`, status: interp.Succeeded, output: `{"x":1,"z":10,"y":false}`,
		},
		{
			name: "inline Map iterations read outer variables and assign their own",
			def: `{"StartAt":"A","States":{
				"A":{"Type":"Pass","Assign":{"items":[1,2],"base":100},"Next":"M"},
				"M":{"Type":"Map","ItemsPath":"$items","MaxConcurrency":1,"ItemSelector":{"v.$":"$$.Map.Item.Value","b.$":"$base"},
					"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Assign":{"base.$":"States.MathAdd($.v, $.b)"},"Next":"J"},
						"J":{"Type":"Pass","Parameters":{"base.$":"$base"},"End":true}}},"Next":"D"},
				"D":{"Type":"Pass","Parameters":{"results.$":"$","base.$":"$base"},"End":true}}}`,
			input: `{}`, status: interp.Succeeded, output: `{"results":[{"base":101},{"base":102}],"base":100}`,
			assigned: `A{items=[1,2],base=100} I{base=101} I{base=102}`,
		},
		{
			name: "distributed Map children see none of the outer variables",
			def: `{"StartAt":"A","States":{
				"A":{"Type":"Pass","Assign":{"x":1},"Next":"M"},
				"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"I",
					"States":{"I":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $x %}","End":true}}},"End":true}}}`,
			input: `[1]`, status: interp.Failed, errName: "States.QueryEvaluationError",
		},
		{
			name: "a Choice rule assigns and outputs its own, the Default the state's",
			def: `{"QueryLanguage":"JSONata","StartAt":"C","States":{
				"C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.go %}","Assign":{"path":"rule"},"Output":{"from":"rule"},"Next":"E"}],
					"Default":"E","Assign":{"path":"default"},"Output":{"from":"default","in":"{% $states.input %}"}},
				"E":{"Type":"Pass","Output":{"out":"{% $states.input %}","path":"{% $path %}"},"End":true}}}`,
			input: `{"go":false}`, status: interp.Succeeded, output: `{"out":{"from":"default","in":{"go":false}},"path":"default"}`,
			assigned: `C{path="default"}`,
		},
		{
			name: "a JSONata Catch assigns and outputs from $states.errorOutput instead of the state",
			def: `{"QueryLanguage":"JSONata","StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Assign":{"ok":true},
					"Catch":[{"ErrorEquals":["States.ALL"],"Assign":{"err":"{% $states.errorOutput.Error %}"},
						"Output":{"caught":"{% $states.errorOutput %}","in":"{% $states.input %}"},"Next":"F"}],"End":true},
				"F":{"Type":"Pass","Output":{"err":"{% $err %}","ok":"{% $exists($ok) %}","was":"{% $states.input.caught.Cause %}"},"End":true}}}`,
			input: `{"i":1}`, answer: failing, status: interp.Succeeded, output: `{"err":"Boom","ok":false,"was":"it broke"}`,
			assigned: `T{err="Boom"}`,
		},
		{
			name: "a JSONPath Catch assigns from the error output",
			def: `{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["Boom"],"Assign":{"cause.$":"$.Cause"},"ResultPath":"$.e","Next":"F"}],"End":true},
				"F":{"Type":"Pass","Parameters":{"cause.$":"$cause","e.$":"$.e.Error"},"End":true}}}`,
			input: `{}`, answer: failing, status: interp.Succeeded, output: `{"cause":"it broke","e":"Boom"}`,
		},
		{
			name:  "an undefined Output records EvaluationFailed before failing",
			def:   `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Output":{"r":"{% $nothing %}"},"End":true}}}`,
			input: `{}`, status: interp.Failed, errName: "States.QueryEvaluationError",
			cause:     "An error occurred while executing the state 'B' (entered at the event id #4). The JSONata expression '$nothing' specified for the field 'Output/r' returned nothing (undefined).",
			events:    "1<0:ExecutionStarted 2<0:PassStateEntered 3<2:PassStateExited 4<3:PassStateEntered 5<3:EvaluationFailed 6<5:ExecutionFailed",
			evaluated: "B@Output/r: An error occurred while executing the state 'B' (entered at the event id #4). The JSONata expression '$nothing' specified for the field 'Output/r' returned nothing (undefined).",
		},
		{
			name:   "a Timestamp refused after evaluation chains EvaluationFailed to StateEntered",
			def:    `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"{% $states.input.t %}","End":true}}}`,
			input:  `{"t":"2016-12-05T21:29:29"}`,
			status: interp.Failed, errName: "States.QueryEvaluationError",
			cause:  "An error occurred while executing the state 'W' (entered at the event id #2). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05T21:29:29",
			events: "1<0:ExecutionStarted 2<0:WaitStateEntered 3<2:EvaluationFailed 4<3:ExecutionFailed",
		},
		{
			name: "Items that are no array fail the Map after EvaluationFailed",
			def: `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.n %}",
				"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input: `{"n":1}`, status: interp.Failed, errName: "States.QueryEvaluationError",
			cause:  "An error occurred while executing the state 'M' (entered at the event id #2). The JSONata expression '$states.input.n' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1",
			events: "1<0:ExecutionStarted 2<0:MapStateEntered 3<0:EvaluationFailed 4<3:MapStateFailed 5<4:ExecutionFailed",
		},
		{
			name: "a JSONata Map's input that is no array is an evaluation error without location",
			def: `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map",
				"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input: `{"n":1}`, status: interp.Failed, errName: "States.QueryEvaluationError",
			cause:     `An error occurred while executing the state 'M' (entered at the event id #2). Map state input must be an array but was: {"n":1}`,
			evaluated: `M@: An error occurred while executing the state 'M' (entered at the event id #2). Map state input must be an array but was: {"n":1}`,
		},
		{
			name:  "a JSONPath Map's input that is no array is a runtime error",
			def:   `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input: `{"n":1}`, status: interp.Failed, errName: "States.Runtime",
			cause:  `An error occurred while executing the state 'M' (entered at the event id #2). Map state input must be an array but was: {"n":1}`,
			events: "1<0:ExecutionStarted 2<0:MapStateEntered 3<2:MapStateFailed 4<3:ExecutionFailed",
		},
		{
			name: "a caught evaluation error",
			def: `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% 'x' %}",
				"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
				"Catch":[{"ErrorEquals":["States.QueryEvaluationError"],"Output":"{% $states.errorOutput.Error %}","Next":"E"}],"End":true},
				"E":{"Type":"Succeed"}}}`,
			input: `{}`, status: interp.Succeeded, output: `"States.QueryEvaluationError"`,
			events: "1<0:ExecutionStarted 2<0:MapStateEntered 3<0:EvaluationFailed 4<3:MapStateFailed 5<4:MapStateExited 6<5:SucceedStateEntered 7<6:SucceedStateExited 8<7:ExecutionSucceeded",
		},
		{
			name: "an error in a Catch's Output fails the execution",
			def: `{"QueryLanguage":"JSONata","StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $none %}","Next":"E"}],"End":true},
				"E":{"Type":"Succeed"}}}`,
			input: `{}`, answer: failing, status: interp.Failed, errName: "States.QueryEvaluationError",
			cause: "An error occurred while executing the state 'T' (entered at the event id #2). The JSONata expression '$none' specified for the field 'Catch[0]/Output' returned nothing (undefined).",
		},
		{
			name: "JSONata results hold the input written compactly",
			def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},
				"B":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% [$states.input] %}","End":true}}}`,
			input: `{"a": 1}`, status: interp.Succeeded, rawOutput: `[{"a":1}]`,
		},
		{
			name: "JSONata results rebuilt from a Parallel's result",
			def: `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
				{"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}},{"StartAt":"C","States":{"C":{"Type":"Pass","End":true}}}],
				"Output":"{% [$states.result, 0] %}","End":true}}}`,
			input: `{"a": 1}`, status: interp.Succeeded, rawOutput: `[{"a":1},{"a":1},0]`,
		},
		{
			name:  "a Parallel's result passes the input's text on",
			def:   `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}}],"End":true}}}`,
			input: `{"a": 1}`, status: interp.Succeeded, rawOutput: `[{"a": 1}]`,
		},
		{
			name:  "an Assign over AWS's limit",
			def:   `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"big":"{% $pad('', 262145, 'x') %}"},"End":true}}}`,
			input: `{}`, status: interp.Failed, errName: "States.DataLimitExceeded",
			cause: "The state/task 'A' assigned variables with a size exceeding the maximum number of bytes service limit.",
		},
		{
			name:  "AWS's functions",
			def:   `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":{"p":"{% $partition([1,2,3],2) %}","r":"{% $range(1,5,2) %}","h":"{% $hash('a','SHA-1') %}","s":"{% $random(42) %}","j":"{% $parse('{\"a\":1}') %}"},"End":true}}}`,
			input: `{}`, status: interp.Succeeded,
			output: `{"p":[[1,2],[3]],"r":[1,3,5],"h":"86f7e437faa5a7fce15d1ddcb9eaeaea377667b8","s":0.7275636800328681,"j":{"a":1}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			if answer == nil {
				answer = noTasks(t)
			}
			x, events := drive(t, mustParse(t, tc.def), tc.input, answer)
			if x.Status != tc.status {
				t.Fatalf("status %s, want %s: %s %s\n%s", x.Status, tc.status, deref(x.Error), deref(x.Cause), types(events))
			}
			if tc.output != "" {
				if got := compact(t, deref(x.Output)); got != compact(t, tc.output) {
					t.Errorf("output %s, want %s", got, tc.output)
				}
			}
			if tc.rawOutput != "" && deref(x.Output) != tc.rawOutput {
				t.Errorf("output text %s, want %s", deref(x.Output), tc.rawOutput)
			}
			if tc.errName != "" && (deref(x.Error) != tc.errName || tc.cause != "" && deref(x.Cause) != tc.cause) {
				t.Errorf("error %s: %s\nwant  %s: %s", deref(x.Error), deref(x.Cause), tc.errName, tc.cause)
			}
			if tc.events != "" && types(events) != tc.events {
				t.Errorf("events\n got %s\nwant %s", types(events), tc.events)
			}
			if tc.assigned != "" && assignments(events) != tc.assigned {
				t.Errorf("assigned\n got %s\nwant %s", assignments(events), tc.assigned)
			}
			if tc.evaluated != "" && evaluations(events) != tc.evaluated {
				t.Errorf("evaluations\n got %s\nwant %s", evaluations(events), tc.evaluated)
			}
		})
	}
}

// compact rewrites JSON text without insignificant space, keeping key order.
func compact(t testing.TB, text string) string {
	t.Helper()
	v, err := jsonv.ParseString(text)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return jsonv.String(v)
}

// TestSnapshotRestoreVariables runs executions that assign variables at every level and wait in
// between, straight through and through a snapshot before every step: histories, outputs and
// the random values drawn must be identical.
func TestSnapshotRestoreVariables(t *testing.T) {
	def := mustParse(t, `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Assign":{"x":1,"items.$":"$.items"},"Next":"M"},
		"M":{"Type":"Map","ItemsPath":"$items","MaxConcurrency":1,"ItemProcessor":{"StartAt":"I","States":{
			"I":{"Type":"Pass","Assign":{"y.$":"States.MathAdd($, $x)"},"Next":"T"},
			"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"y.$":"$y"},"Next":"W"},
			"W":{"Type":"Wait","Seconds":5,"Next":"O"},
			"O":{"Type":"Pass","QueryLanguage":"JSONata","Output":{"y":"{% $y %}","x":"{% $x %}","id":"{% $uuid() %}"},"End":true}}},
			"Assign":{"x":2},"Next":"P"},
		"P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":1,"Next":"C"},
			"C":{"Type":"Pass","QueryLanguage":"JSONata","Output":{"x":"{% $x %}","r":"{% $random() %}"},"End":true}}}],"End":true}}}`)
	input := `{"items":[10,20]}`
	x1, straight := driveWith(t, def, input, echo, false)
	x2, restored := driveWith(t, def, input, echo, true)
	if x1.Status != interp.Succeeded || x2.Status != interp.Succeeded {
		t.Fatalf("status %s / %s: %s %s", x1.Status, x2.Status, deref(x1.Cause), deref(x2.Cause))
	}
	a := string(history.AppendEvents(nil, straight, true))
	b := string(history.AppendEvents(nil, restored, true))
	if a != b {
		t.Errorf("histories differ\nstraight %s\nrestored %s", a, b)
	}
	if deref(x1.Output) != deref(x2.Output) {
		t.Errorf("outputs differ: %s / %s", deref(x1.Output), deref(x2.Output))
	}
	if got := assignments(straight); got != `A{x=1,items=[10,20]} I{y=11} I{y=21} M{x=2}` {
		t.Errorf("assigned %s", got)
	}
	if !strings.Contains(deref(x1.Output), `"x":2`) {
		t.Errorf("output %s: the Parallel branch should read x as the Map assigned it", deref(x1.Output))
	}
}

// TestJSONataConcurrentExecutions runs executions of one parsed definition at once: compiled
// expressions are shared, so the race detector watches them here.
func TestJSONataConcurrentExecutions(t *testing.T) {
	def := mustParse(t, `{"QueryLanguage":"JSONata","StartAt":"A","States":{
		"A":{"Type":"Pass","Assign":{"id":"{% $uuid() %}","r":"{% $random() %}"},"Output":{"p":"{% $partition($states.input.items, 2) %}"},"Next":"B"},
		"B":{"Type":"Pass","Output":"{% function($x){$x} %}","End":true}}}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			x, res, err := interp.Start(def, identity(), `{"items":[1,2,3]}`, t0)
			if err != nil || x.Status != interp.Failed || !strings.Contains(deref(x.Cause), "unsupported result type") {
				t.Errorf("Start: %v %s %s %s", err, x.Status, deref(x.Cause), types(res.Events))
			}
		})
	}
	wg.Wait()
}
