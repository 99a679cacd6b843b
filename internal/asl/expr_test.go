package asl

import (
	"errors"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// testScope is a Scope over fixed values.
type testScope struct {
	input, context      jsonv.Value
	result, errorOutput jsonv.Value
	vars                map[string]jsonv.Value
	now                 time.Time
}

func (s testScope) Input() jsonv.Value   { return s.input }
func (s testScope) Context() jsonv.Value { return s.context }
func (s testScope) Variable(name string) (jsonv.Value, bool) {
	v, ok := s.vars[name]
	return v, ok
}
func (s testScope) Result() (jsonv.Value, bool)      { return s.result, s.result != nil }
func (s testScope) ErrorOutput() (jsonv.Value, bool) { return s.errorOutput, s.errorOutput != nil }
func (s testScope) Now() time.Time                   { return s.now }

// ReadRandom counts up from 1, so that random results are fixed.
func (s testScope) ReadRandom(p []byte) {
	for i := range p {
		p[i] = byte(i + 1)
	}
}

func mustParse(t testing.TB, def string) *StateMachine {
	t.Helper()
	sm, err := Parse([]byte(def), ParseOptions{})
	if err != nil {
		t.Fatalf("Parse(%s): %v", def, err)
	}
	return sm
}

func mustJSON(t testing.TB, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestExprEval evaluates the Expr of one field of state "S" against an input. want is the JSON
// output, or the error's cause when wantErr names an error.
func TestExprEval(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   string // the state "S", as JSON
		expr    func(*State) Expr
		input   string
		want    string
		wantErr string
	}{
		{
			name:  "template keeps order and nests",
			state: `{"Type":"Pass","Parameters":{"z":1,"b.$":"$.x","arr":[{"d.$":"$.y[1]"},2],"ctx.$":"$$.Execution.Id","static":{"k":[1]}},"End":true}`,
			expr:  func(s *State) Expr { return s.Parameters },
			input: `{"x":{"q":true},"y":[0,"one"]}`,
			want:  `{"z":1,"b":{"q":true},"arr":[{"d":"one"},2],"ctx":"exec-1","static":{"k":[1]}}`,
		},
		{
			name:  "fully static template",
			state: `{"Type":"Pass","Parameters":{"a":{"b":"$.not.a.path"}},"End":true}`,
			expr:  func(s *State) Expr { return s.Parameters },
			input: `{}`,
			want:  `{"a":{"b":"$.not.a.path"}}`,
		},
		{
			name:    "template path not found",
			state:   `{"Type":"Pass","Parameters":{"value.$":"$.no_such_jsonpath"},"End":true}`,
			expr:    func(s *State) Expr { return s.Parameters },
			input:   `{"int-literal": 0}`,
			wantErr: `The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{"int-literal":0}'`,
		},
		{
			name:  "template variable",
			state: `{"Type":"Pass","Parameters":{"v.$":"$myVar"},"End":true}`,
			expr:  func(s *State) Expr { return s.Parameters },
			input: `{}`,
			want:  `{"v":[1,2]}`,
		},
		{
			name:  "seconds path",
			state: `{"Type":"Wait","SecondsPath":"$.input.waitSeconds","End":true}`,
			expr:  func(s *State) Expr { return s.Wait.Seconds },
			input: `{"input":{"waitSeconds":5}}`,
			want:  `5`,
		},
		{
			name:    "seconds path negative",
			state:   `{"Type":"Wait","SecondsPath":"$.input.waitSeconds","End":true}`,
			expr:    func(s *State) Expr { return s.Wait.Seconds },
			input:   `{"input":{"waitSeconds":-1}}`,
			wantErr: "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
		},
		{
			name:    "seconds path fraction",
			state:   `{"Type":"Wait","SecondsPath":"$.input.waitSeconds","End":true}`,
			expr:    func(s *State) Expr { return s.Wait.Seconds },
			input:   `{"input":{"waitSeconds":-1.5}}`,
			wantErr: "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == -1.5",
		},
		{
			name:    "seconds path missing",
			state:   `{"Type":"Wait","SecondsPath":"$.input.waitSeconds","End":true}`,
			expr:    func(s *State) Expr { return s.Wait.Seconds },
			input:   `{}`,
			wantErr: "The SecondsPath parameter does not reference an input value: $.input.waitSeconds",
		},
		{
			name:  "timestamp path",
			state: `{"Type":"Wait","TimestampPath":"$.TimestampValue","End":true}`,
			expr:  func(s *State) Expr { return s.Wait.Timestamp },
			input: `{"TimestampValue":"2016-03-14T01:59:00+01:00"}`,
			want:  `"2016-03-14T01:59:00+01:00"`,
		},
		{
			name:    "timestamp path invalid",
			state:   `{"Type":"Wait","TimestampPath":"$.TimestampValue","End":true}`,
			expr:    func(s *State) Expr { return s.Wait.Timestamp },
			input:   `{"TimestampValue":"2016-12-05T25:29:29Z"}`,
			wantErr: "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.TimestampValue == 2016-12-05T25:29:29Z",
		},
		{
			name:    "heartbeat path missing",
			state:   `{"Type":"Task","HeartbeatSecondsPath":"$.NoSuchTimeoutSecondsPath","Resource":"arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken","Parameters":{},"End":true}`,
			expr:    func(s *State) Expr { return s.Task.HeartbeatSeconds },
			input:   `{"int-literal": 0}`,
			wantErr: "Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: $['NoSuchTimeoutSecondsPath']",
		},
		{
			name:  "timeout seconds literal",
			state: `{"Type":"Task","TimeoutSeconds":30,"Resource":"arn:aws:states:::lambda:invoke","End":true}`,
			expr:  func(s *State) Expr { return s.Task.TimeoutSeconds },
			input: `{}`,
			want:  `30`,
		},
		{
			name:    "max concurrency path not a number",
			state:   `{"Type":"Map","ItemsPath":"$.Values","MaxConcurrencyPath":"$.MaxConcurrencyValue","ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:    func(s *State) Expr { return s.Map.MaxConcurrency },
			input:   `{"MaxConcurrencyValue":"NoNumber","Values":["HelloWorld"]}`,
			wantErr: `The MaxConcurrencyPath field refers to value "NoNumber" which is not a valid integer: $.MaxConcurrencyValue`,
		},
		{
			name:    "max concurrency path object",
			state:   `{"Type":"Map","MaxConcurrencyPath":"$.MaxConcurrencyValue","ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:    func(s *State) Expr { return s.Map.MaxConcurrency },
			input:   `{"MaxConcurrencyValue":{}}`,
			wantErr: `The MaxConcurrencyPath field refers to value "{}" which is not a valid integer: $.MaxConcurrencyValue`,
		},
		{
			name:    "tolerated failure count negative",
			state:   `{"Type":"Map","ToleratedFailureCountPath":"$.ToleratedFailureCount","ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:    func(s *State) Expr { return s.Map.ToleratedFailureCount },
			input:   `{"ToleratedFailureCount":-1}`,
			wantErr: "ToleratedFailureCount cannot be negative.",
		},
		{
			name:    "tolerated failure percentage out of range",
			state:   `{"Type":"Map","ToleratedFailurePercentagePath":"$.P","ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:    func(s *State) Expr { return s.Map.ToleratedFailurePercentage },
			input:   `{"P":-1.1}`,
			wantErr: "ToleratedFailurePercentage must be between 0 and 100.",
		},
		{
			name:    "tolerated failure percentage not a number",
			state:   `{"Type":"Map","ToleratedFailurePercentagePath":"$.ToleratedFailurePercentage","ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:    func(s *State) Expr { return s.Map.ToleratedFailurePercentage },
			input:   `{"ToleratedFailurePercentage":"NoNumber"}`,
			wantErr: `The ToleratedFailurePercentagePath field refers to value "NoNumber" which is not a valid float: $.ToleratedFailurePercentage`,
		},
		{
			name:  "items path",
			state: `{"Type":"Map","ItemsPath":"$.Values","ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:  func(s *State) Expr { return s.Map.Items },
			input: `{"Values":[1,2]}`,
			want:  `[1,2]`,
		},
		{
			name:  "legacy map parameters",
			state: `{"Type":"Map","Parameters":{"i.$":"$$.Map.Item.Value"},"Iterator":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}`,
			expr:  func(s *State) Expr { return s.Map.ItemSelector },
			input: `{}`,
			want:  `{"i":"item"}`,
		},
		{
			name:    "error path missing",
			state:   `{"Type":"Fail","ErrorPath":"$.ErrorX"}`,
			expr:    func(s *State) Expr { return s.Fail.Error },
			input:   `{"Error":"E"}`,
			wantErr: `The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{"Error":"E"}'`,
		},
		{
			name:  "cause literal",
			state: `{"Type":"Fail","Cause":"boom"}`,
			expr:  func(s *State) Expr { return s.Fail.Cause },
			input: `{}`,
			want:  `"boom"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := mustParse(t, `{"StartAt":"S","States":{"S":`+tc.state+`}}`)
			e := tc.expr(sm.States["S"])
			if e == nil {
				t.Fatal("no Expr")
			}
			scope := testScope{
				input:   mustJSON(t, tc.input),
				context: mustJSON(t, `{"Execution":{"Id":"exec-1"},"Map":{"Item":{"Value":"item"}}}`),
				vars:    map[string]jsonv.Value{"myVar": mustJSON(t, `[1,2]`)},
			}
			v, err := e.Eval(scope)
			if tc.wantErr != "" {
				var se *sferr.Error
				if !errors.As(err, &se) || se.Name != sferr.Runtime || se.Cause != tc.wantErr {
					t.Fatalf("got %v, %v; want States.Runtime: %s", v, err, tc.wantErr)
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

// BenchmarkTemplate measures one evaluation of a typical Parameters template.
func BenchmarkTemplate(b *testing.B) {
	sm := mustParse(b, `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"FunctionName":"f","Payload":{"a.$":"$.a","b.$":"$.b.c","static":{"x":[1,2,3]}},"Id.$":"$$.Execution.Id"},"End":true}}}`)
	e := sm.States["S"].Parameters
	scope := testScope{input: mustJSON(b, `{"a":1,"b":{"c":[true]}}`), context: mustJSON(b, `{"Execution":{"Id":"x"}}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(scope); err != nil {
			b.Fatal(err)
		}
	}
}
