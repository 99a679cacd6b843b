package asl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// jsonataState parses a JSONata machine whose state S of type typ has the given fields (JSON
// members) and leads to a Succeed state X.
func jsonataState(t testing.TB, typ, fields string) *State {
	t.Helper()
	def := fmt.Sprintf(`{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":%q,%s%s}%s}}`, typ, fields, next(typ), rest(typ))
	return mustParse(t, def).States["S"]
}

// next is what a state of type typ needs to lead to X.
func next(typ string) string {
	switch typ {
	case "Succeed", "Fail", "Choice":
		return ""
	}
	return `,"Next":"X"`
}

// rest is the state X, where a state of type typ can lead to it.
func rest(typ string) string {
	if typ == "Succeed" || typ == "Fail" {
		return ""
	}
	return `,"X":{"Type":"Succeed"}`
}

func TestJSONataDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		name, fields string
		typ          string
		want         []string // "CODE: message at location"; nil: valid
	}{
		{"syntax error", `"Output":"{% a[1,2) %}"`, "Pass",
			[]string{`INVALID_JSONATA_EXPRESSION: Expected "]", got "," at /States/S/Output`}},
		{"unterminated string", `"Output":"{% \"abc %}"`, "Pass",
			[]string{"INVALID_JSONATA_EXPRESSION: String literal must be terminated by a matching quote at /States/S/Output"}},
		{"empty expression", `"Output":"{%%}"`, "Pass",
			[]string{"INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/S/Output"}},
		{"nested in a template", `"Output":{"a":{"b":[1,"{% 1 + %}"]}}`, "Pass",
			[]string{"INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/S/Output/a/b[1]"}},
		{"in Assign", `"Assign":{"x":"{% $y := %}"}`, "Pass",
			[]string{"INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/S/Assign/x"}},
		{"in a Condition", `"Choices":[{"Condition":"{% ( %}","Next":"X"}]`, "Choice",
			[]string{`INVALID_JSONATA_EXPRESSION: Expected ")" before end of expression at /States/S/Choices[0]/Condition`}},
		{"in Seconds", `"Seconds":"{% ) %}"`, "Wait",
			[]string{`INVALID_JSONATA_EXPRESSION: The symbol ")" cannot be used as a unary operator at /States/S/Seconds`}},
		{"several", `"Output":"{% 1 + %}","Assign":{"a":"{% ] %}"}`, "Pass",
			[]string{"INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/S/Output",
				`INVALID_JSONATA_EXPRESSION: The symbol "]" cannot be used as a unary operator at /States/S/Assign/a`}},
		{"the context item", `"Output":{"v":"{% $$ %}"}`, "Pass",
			[]string{"UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' is not supported. at /States/S/Output/v"}},
		{"errorOutput outside a Catch", `"Assign":{"e":"{% $states.errorOutput %}"}`, "Pass",
			[]string{"UNSUPPORTED_JSONATA_EXPRESSION: Field '$states.errorOutput' does not exist. at /States/S/Assign/e"}},
		{"errorOutput in a Catch", `"Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["States.ALL"],"Assign":{"e":"{% $states.errorOutput %}"},"Output":"{% $states.errorOutput.Cause %}","Next":"X"}]`, "Task", nil},
		{"a field merely starting with errorOutput", `"Output":"{% $states.errorOutputs %}"`, "Pass", nil},
		{"valid expressions", `"Output":{"a":"{% $states.input.a %}","b":["{% $x %}"]},"Assign":{"x":"{% $uuid() %}"}`, "Pass", nil},
		{"not an expression: spaces around", `"Output":" {% ( %} "`, "Pass", nil},
		{"not an expression in a JSONPath state", `"QueryLanguage":"JSONPath","Parameters":{"a":"{% ( %}"}`, "Pass", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := fmt.Sprintf(`{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":%q,%s%s}%s}}`, tc.typ, tc.fields, next(tc.typ), rest(tc.typ))
			if strings.Contains(tc.fields, `"JSONPath"`) {
				def = strings.Replace(def, `"QueryLanguage":"JSONata",`, "", 1)
			}
			_, err := Parse([]byte(def), ParseOptions{})
			var got []string
			var de *DefinitionError
			if errors.As(err, &de) {
				for _, d := range de.Diagnostics {
					got = append(got, d.String())
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("diagnostics\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// evalCase evaluates one field of a parsed JSONata state in a fixed scope.
type evalCase struct {
	name   string
	typ    string // state type
	fields string // the state's fields
	field  func(*State) Expr
	want   string // JSON of the value, or "" when an error is wanted
	// cause, location and refused describe the wanted *EvaluationError.
	cause, location string
	refused         bool
}

func output(st *State) Expr    { return st.Output }
func items(st *State) Expr     { return st.Map.Items }
func seconds(st *State) Expr   { return st.Wait.Seconds }
func timestamp(st *State) Expr { return st.Wait.Timestamp }
func condition(st *State) Expr { return st.Choice.Choices[0].Condition }

func jsonataScope(t testing.TB) testScope {
	return testScope{
		input:       mustJSON(t, `{"a":1,"s":"text","o":{"b":[true]},"list":[1,2,3],"n":null,"ts":"2016-03-14T01:59:00Z","neg":-1}`),
		context:     mustJSON(t, `{"Execution":{"Id":"arn:x"},"State":{"Name":"S"}}`),
		result:      mustJSON(t, `{"r":2}`),
		errorOutput: mustJSON(t, `{"Error":"E","Cause":"C"}`),
		vars:        map[string]jsonv.Value{"v": mustJSON(t, `{"w":"x"}`), "count": jsonv.Int(3)},
		now:         time.Date(2024, 11, 22, 10, 0, 0, 0, time.UTC),
	}
}

func TestJSONataEval(t *testing.T) {
	for _, tc := range []evalCase{
		{name: "input", typ: "Pass", fields: `"Output":"{% $states.input.o %}"`, field: output, want: `{"b":[true]}`},
		{name: "context", typ: "Pass", fields: `"Output":"{% $states.context.Execution.Id %}"`, field: output, want: `"arn:x"`},
		{name: "result", typ: "Pass", fields: `"Output":"{% $states.result.r %}"`, field: output, want: `2`},
		{name: "errorOutput", typ: "Task", fields: `"Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $states.errorOutput.Error %}","Next":"X"}]`,
			field: func(st *State) Expr { return st.Catch[0].Output }, want: `"E"`},
		{name: "the whole $states", typ: "Pass", fields: `"Output":"{% $keys($states) %}"`, field: output, want: `["input","result","errorOutput","context"]`},
		{name: "a variable", typ: "Pass", fields: `"Output":"{% $v.w & $string($count) %}"`, field: output, want: `"x3"`},
		{name: "a variable shadows a function", typ: "Pass", fields: `"Output":"{% $count %}"`, field: output, want: `3`},
		{name: "no input document", typ: "Pass", fields: `"Output":"{% [$exists($), $exists(a)] %}"`, field: output, want: `[false,false]`},
		{name: "template", typ: "Pass", fields: `"Output":{"x":"{% $states.input.a + 1 %}","lit":"{%","list":["{% $states.input.s %}",null]}`, field: output,
			want: `{"x":2,"lit":"{%","list":["text",null]}`},
		{name: "literal output", typ: "Pass", fields: `"Output":[1,"two"]`, field: output, want: `[1,"two"]`},
		{name: "the step's clock", typ: "Pass", fields: `"Output":"{% $now() %}"`, field: output, want: `"2024-11-22T10:00:00.000Z"`},
		{name: "undefined", typ: "Pass", fields: `"Output":"{% $nothing %}"`, field: output, location: "Output",
			cause: "The JSONata expression '$nothing' specified for the field 'Output' returned nothing (undefined)."},
		{name: "undefined in a template", typ: "Pass", fields: `"Output":{"a":[0,{"b":"{%  $states.input.none  %}"}]}`, field: output, location: "Output/a[1]/b",
			cause: "The JSONata expression '$states.input.none' specified for the field 'Output/a[1]/b' returned nothing (undefined)."},
		{name: "a function", typ: "Pass", fields: `"Output":"{% function($x){$x} %}"`, field: output, location: "Output",
			cause: "The JSONata expression 'function($x){$x}' specified for the field 'Output' returned an unsupported result type."},
		{name: "an error", typ: "Pass", fields: `"Output":{"f":"{% $nope(1) %}"}`, field: output, location: "Output/f",
			cause: "The JSONata expression '$nope(1)' specified for the field 'Output/f' threw an error during evaluation. T1006: Attempted to invoke a non-function"},
		{name: "a type error", typ: "Pass", fields: `"Output":"{% $states.input.s + 1 %}"`, field: output, location: "Output",
			cause: "The JSONata expression '$states.input.s + 1' specified for the field 'Output' threw an error during evaluation. T2001: The left side of the \"+\" operator must evaluate to a number"},

		{name: "items", typ: "Map", fields: `"Items":"{% $states.input.list %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, field: items, want: `[1,2,3]`},
		{name: "items not an array", typ: "Map", fields: `"Items":"{% $states.input.o %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			field: items, location: "Items",
			cause: `The JSONata expression '$states.input.o' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'object' for value: {"b":[true]}`},
		{name: "items null", typ: "Map", fields: `"Items":"{% null %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			field: items, location: "Items",
			cause: `The JSONata expression 'null' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'null' for value: null`},
		{name: "items literal with an expression", typ: "Map", fields: `"Items":[1,"{% $number('2') %}"],"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			field: items, want: `[1,2]`},

		{name: "seconds", typ: "Wait", fields: `"Seconds":"{% $states.input.a %}"`, field: seconds, want: `1`},
		{name: "seconds not an integer", typ: "Wait", fields: `"Seconds":"{% 1.5 %}"`, field: seconds, location: "Seconds",
			cause: "The JSONata expression '1.5' specified for the field 'Seconds' returned an unexpected result type. Expected 'integer', but was 'number' for value: 1.5"},
		{name: "seconds negative", typ: "Wait", fields: `"Seconds":"{% $states.input.neg %}"`, field: seconds, location: "Seconds", refused: true,
			cause: "The Seconds parameter references a negative value: -1"},
		{name: "timestamp", typ: "Wait", fields: `"Timestamp":"{% $states.input.ts %}"`, field: timestamp, want: `"2016-03-14T01:59:00Z"`},
		{name: "timestamp invalid", typ: "Wait", fields: `"Timestamp":"{% '2016-03-14 01:59:00Z' %}"`, field: timestamp, location: "Timestamp", refused: true,
			cause: "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-03-14 01:59:00Z"},
		{name: "timestamp not a string", typ: "Wait", fields: `"Timestamp":"{% 5 %}"`, field: timestamp, location: "Timestamp",
			cause: "The JSONata expression '5' specified for the field 'Timestamp' returned an unexpected result type. Expected 'string', but was 'number' for value: 5"},

		{name: "condition", typ: "Choice", fields: `"Choices":[{"Condition":"{% $states.input.a = 1 %}","Next":"X"}]`, field: condition, want: `true`},
		{name: "condition not a boolean", typ: "Choice", fields: `"Choices":[{"Condition":"{% $states.input.s %}","Next":"X"}]`, field: condition,
			location: "Choices[0]/Condition",
			cause:    `The JSONata expression '$states.input.s' specified for the field 'Choices[0]/Condition' returned an unexpected result type. Expected 'boolean', but was 'string' for value: "text"`},

		{name: "timeout", typ: "Task", fields: `"Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":"{% 0 %}"`, field: func(st *State) Expr { return st.Task.TimeoutSeconds },
			location: "TimeoutSeconds", refused: true, cause: "The TimeoutSeconds field must be a positive integer: 0"},
		{name: "max concurrency negative", typ: "Map", fields: `"MaxConcurrency":"{% -2 %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			field: func(st *State) Expr { return st.Map.MaxConcurrency }, location: "MaxConcurrency", refused: true, cause: "MaxConcurrency cannot be negative."},
		{name: "tolerated percentage", typ: "Map", fields: `"ToleratedFailurePercentage":"{% 101 %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			field: func(st *State) Expr { return st.Map.ToleratedFailurePercentage }, location: "ToleratedFailurePercentage", refused: true,
			cause: "ToleratedFailurePercentage must be between 0 and 100."},
		{name: "fail error not a string", typ: "Fail", fields: `"Error":"{% 1 %}"`, field: func(st *State) Expr { return st.Fail.Error }, location: "Error",
			cause: "The JSONata expression '1' specified for the field 'Error' returned an unexpected result type. Expected 'string', but was 'number' for value: 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := jsonataState(t, tc.typ, tc.fields)
			v, err := tc.field(st).Eval(jsonataScope(t))
			if tc.cause == "" {
				if err != nil {
					t.Fatalf("Eval: %v", err)
				}
				if got := jsonv.String(v); got != tc.want {
					t.Errorf("got %s, want %s", got, tc.want)
				}
				return
			}
			var ee *EvaluationError
			if !errors.As(err, &ee) {
				t.Fatalf("got %v (%s), want an EvaluationError", err, jsonv.String(v))
			}
			if ee.Cause != tc.cause || ee.Location != tc.location || ee.Refused != tc.refused {
				t.Errorf("got cause %q location %q refused %v\nwant cause %q location %q refused %v", ee.Cause, ee.Location, ee.Refused, tc.cause, tc.location, tc.refused)
			}
			var se *sferr.Error
			if !errors.As(err, &se) || se.Name != sferr.QueryEvaluationError || se.Cause != tc.cause {
				t.Errorf("as sferr.Error: %v", se)
			}
		})
	}
}

func TestAWSFunctions(t *testing.T) {
	for _, tc := range []struct{ expr, want, cause string }{
		{"$partition([1,2,3,4,5], 2)", `[[1,2],[3,4],[5]]`, ""},
		{"$partition([0], 1)", `[[0]]`, ""},
		{"$partition([0,1,2], 5)", `[[0,1,2]]`, ""},
		{"$partition([], 2)", `[]`, ""},
		{"$partition([1], 0)", "", "threw an error during evaluation. $partition: the chunk size must be a positive integer, but was 0"},
		{"$range(0, 9, 3)", `[0,3,6,9]`, ""},
		{"$range(0, 10, 3)", `[0,3,6,9]`, ""},
		{"$range(5, 1, -2)", `[5,3,1]`, ""},
		{"$range(1, 9, 9)", `1`, ""},
		{"$range(1, 0, 1)", `[]`, ""},
		{"$range(0, 1, 0.25)", `[0,0.25,0.5,0.75,1]`, ""},
		{"$range(1, 2, 0)", "", "threw an error during evaluation. $range: the step must not be 0"},
		{"$hash('Hash this string', 'SHA-256')", `"1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"`, ""},
		{"$hash('a', 'MD5')", `"0cc175b9c0f1b6a831c399e269772661"`, ""},
		{"$hash('a', 'SHA-3')", "", `threw an error during evaluation. $hash: unsupported algorithm "SHA-3"; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512`},
		// java.util.Random(seed).nextDouble().
		{"$random(0)", `0.730967787376657`, ""},
		{"$random(42)", `0.7275636800328681`, ""},
		// The test scope's randomness counts 1, 2, 3…
		{"$random()", `0.03135717031910801`, ""},
		{"$uuid()", `"01020304-0506-4708-890a-0b0c0d0e0f10"`, ""},
		{"$parse('{\"a\":[1,true]}')", `{"a":[1,true]}`, ""},
		{"$parse('-0')", `0`, ""},
		{"$parse('\"x\"')", `"x"`, ""},
		{"$parse('{')", "", "threw an error during evaluation. $parse: the argument is not valid JSON: "},
		{"$randomSeeded(1)", "", "threw an error during evaluation. T1006: Attempted to invoke a non-function"},
		{"$shuffle([1])", `[1]`, ""},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			st := jsonataState(t, "Pass", fmt.Sprintf(`"Output":%q`, "{% "+tc.expr+" %}"))
			v, err := st.Output.Eval(jsonataScope(t))
			if tc.cause != "" {
				prefix := "The JSONata expression '" + tc.expr + "' specified for the field 'Output' " + tc.cause
				var ee *EvaluationError
				if !errors.As(err, &ee) || !strings.HasPrefix(ee.Cause, prefix) {
					t.Errorf("got %v, want a cause starting %q", err, prefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonv.String(v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestFieldPath checks that plain paths, which Eval follows itself where it can, give what the
// evaluator gives.
func TestFieldPath(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		direct bool // the path is followed without the evaluator
	}{
		{"$states.input.o", true},
		{"$states.input.s", true},
		{"$states.input.n", true},
		{"$states.input", true},
		{"$states.input.a", false},    // a number: the evaluator formats it
		{"$states.input.list", false}, // an array: the evaluator rebuilds it
		{"$states.input.o.b", false},
		{"$states.input.none", false},
		{"$states.input.list.x", false},
		{"$states.context.State.Name", true},
		{"$states.result.r", false},
		{"$states.errorOutput", true},
		{"$v.w", true},
		{"$v", true},
		{"$count", false},
		{"$missing.x", false},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := compileJSONata(tc.expr, "Output", checkAny)
			if err != nil {
				t.Fatal(err)
			}
			if e.path == nil {
				t.Fatalf("%s is not recognised as a path", tc.expr)
			}
			sc := jsonataScope(t)
			direct, ok := e.path.follow(sc)
			if ok != tc.direct {
				t.Errorf("followed directly: %v, want %v", ok, tc.direct)
			}
			viaEvaluator, _ := compileJSONata(tc.expr, "Output", checkAny)
			viaEvaluator.path = nil
			want, werr := viaEvaluator.Eval(sc)
			got, gerr := e.Eval(sc)
			if jsonv.String(got) != jsonv.String(want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("got %s %v, evaluator gives %s %v", jsonv.String(got), gerr, jsonv.String(want), werr)
			}
			if ok && jsonv.String(direct) != jsonv.String(want) {
				t.Errorf("followed %s, evaluator gives %s", jsonv.String(direct), jsonv.String(want))
			}
		})
	}
	for _, src := range []string{"$states", "$states.foo", "$states.input.a[0]", "$x.`a b`", "$states.input.and", "$a.b + 1", "states.input"} {
		if parseFieldPath(src) != nil {
			t.Errorf("%q recognised as a plain path", src)
		}
	}
}

func TestScanRefs(t *testing.T) {
	for _, tc := range []struct {
		expr                string
		names, vars         string // comma-separated
		states, context     bool
		functions           string
		clock, randomNeeded bool
	}{
		{expr: "$states.input.a + $x", names: "x", vars: "x", states: true},
		{expr: "$states.context.Execution.Id", states: true, context: true},
		{expr: "$states", states: true, context: true},
		{expr: "$states['input']", states: true, context: true},
		{expr: "$sum($list) + $count($list)", names: "sum,list,count", vars: "list"},
		{expr: "$y := 1; $y + $z", names: "y,z", vars: "z"},
		{expr: "function($a, $b){ $a + $b + $c }", names: "a,b,c", vars: "c"},
		{expr: "λ($a){$a}($d)", names: "a,d", vars: "d"},
		{expr: `"$notVar" & '$nor' & $yes`, names: "yes", vars: "yes"},
		{expr: "$match(s, /\\$re/) ~> $f", names: "match,f", vars: "f"},
		{expr: "$a / $b", names: "a,b", vars: "a,b"},
		{expr: "/* $comment */ $real", names: "real", vars: "real"},
		{expr: "`$quoted` & $v", names: "v", vars: "v"},
		{expr: "$uuid() & $random(1) & $partition([1],1)", names: "uuid,random,partition", functions: "uuid,random,partition", randomNeeded: true},
		{expr: "$now() & $millis()", names: "now,millis", clock: true},
		{expr: "$shuffle([1,2])", names: "shuffle", randomNeeded: true},
		{expr: "$$ & $", names: ""},
		{expr: "$é.a", names: "é", vars: "é"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			r := scanRefs(tc.expr)
			if got := strings.Join(r.names, ","); got != tc.names {
				t.Errorf("names %q, want %q", got, tc.names)
			}
			if got := strings.Join(r.vars, ","); got != tc.vars {
				t.Errorf("vars %q, want %q", got, tc.vars)
			}
			if got := strings.Join(r.functions, ","); got != tc.functions {
				t.Errorf("functions %q, want %q", got, tc.functions)
			}
			if r.states != tc.states || r.context != tc.context || r.clock != tc.clock || r.random != tc.randomNeeded {
				t.Errorf("states %v context %v clock %v random %v, want %v %v %v %v", r.states, r.context, r.clock, r.random, tc.states, tc.context, tc.clock, tc.randomNeeded)
			}
		})
	}
}

func TestVariableReferences(t *testing.T) {
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Pass","InputPath":"$in","Parameters":{"x.$":"$p.q","y.$":"States.Format('{}', $f)","z":"$literal"},"Assign":{"a.$":"$as"},"Next":"C"},
		"C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$c1","IsPresent":true},{"Variable":"$.x","StringEqualsPath":"$c2"}],"Assign":{"r.$":"$ra"},"Next":"M"}],"Default":"M"},
		"M":{"Type":"Map","ItemsPath":"$items","MaxConcurrencyPath":"$mc","ItemProcessor":{"StartAt":"J","States":{
			"J":{"Type":"Pass","QueryLanguage":"JSONata","Output":{"o":"{% $states.input & $j1 & $sum($j2) %}"},"Assign":{"k":"{% ($l := 1; $l + $j3) %}"},"Next":"N"},
			"N":{"Type":"Pass","End":true}}},"Catch":[{"ErrorEquals":["States.ALL"],"Assign":{"e.$":"$caught"},"Next":"W"}],"Next":"W"},
		"W":{"Type":"Wait","SecondsPath":"$s","Next":"F"},
		"F":{"Type":"Fail","ErrorPath":"$err","CausePath":"$cause"}}}`
	got := mustParse(t, def).VariableReferences()
	want := map[string]string{
		"A": "in,p,f,as", "C": "c1,c2,ra", "M": "items,mc,caught", "J": "j1,j2,j3", "W": "s", "F": "err,cause",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for state, names := range want {
		if g := strings.Join(got[state], ","); g != names {
			t.Errorf("%s: got %q, want %q", state, g, names)
		}
	}
}
