package conformance

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// A Pass machine's run as AWS recorded it, with the names the engine is given.
const passCase = `{
  "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
  "context": {
    "state_machine_type": "STANDARD", "state_machine_name": "sm_u1", "execution_name": "exec_u1",
    "role_arn": "arn:aws:iam::111111111111:role/r", "input_kind": "json", "input_text": "{\"a\": [1, 2]}",
    "normalization": {"replacements": [
      {"regex": "arn:aws:iam::111111111111:role/r", "replacement": "snf_role_arn"},
      {"regex": "sm_u1", "replacement": "<ArnPart_0idx>"}
    ]}
  },
  "expect": {
    "status": "SUCCEEDED",
    "output": {"a": [1, 2], "when": "date"},
    "events": [
      {"id": 1, "previousEventId": 0, "timestamp": "timestamp", "type": "ExecutionStarted",
       "executionStartedEventDetails": {"input": {"a": [1, 2]}, "inputDetails": {"truncated": false}, "roleArn": "snf_role_arn"}},
      {"id": 2, "previousEventId": 1, "timestamp": "timestamp", "type": "ExecutionSucceeded",
       "executionSucceededEventDetails": {"output": {"a": [1, 2], "when": "date"}, "outputDetails": {"truncated": false}}}
    ]
  }
}`

const passResult = `{"status":"SUCCEEDED","output":{"a":[1,2],"when":"2024-01-02T03:04:05Z"},"events":[
  {"timestamp":1700000000.5,"type":"ExecutionStarted","id":1,"previousEventId":0,
   "executionStartedEventDetails":{"input":"{\"a\": [1, 2]}","inputDetails":{"truncated":false},"roleArn":"arn:aws:iam::111111111111:role/r"}},
  {"timestamp":1700000001,"type":"ExecutionSucceeded","id":2,"previousEventId":1,
   "executionSucceededEventDetails":{"output":"{\"a\":[1,2],\"when\":\"2024-01-02T03:04:05Z\"}","outputDetails":{"truncated":false}}}]}`

// A failing run as AWS recorded it: error and cause, no output.
const failCase = `{
  "definition": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}},
  "context": {"state_machine_type": "STANDARD", "input_text": "{}", "normalization": {"replacements": []}},
  "expect": {"status": "FAILED", "error": "E", "cause": {"reason": "bad"}}
}`

func TestCheckExecution(t *testing.T) {
	for _, tc := range []struct {
		name, kase, result string
		match, history     bool
		mismatch, category string
	}{
		{name: "matches", kase: passCase, result: passResult, match: true, history: true},
		{
			name: "status", kase: passCase, result: `{"status":"FAILED","error":"States.Runtime","cause":"An error occurred while executing the state 'P' (entered at the event id #2). Invalid path '$.x'","events":[]}`,
			mismatch: "status: got FAILED (States.Runtime: An error occurred while executing the state 'P' (entered at the event id #2). Invalid path '$.x'), want SUCCEEDED",
			category: "status: got FAILED (States.Runtime: Invalid path '…'), want SUCCEEDED",
		},
		{
			name: "output", kase: passCase, result: strings.Replace(passResult, `"output":{"a":[1,2]`, `"output":{"a":[2,1]`, 1),
			mismatch: "output.a[0]: got 2, want 1", category: "output differs at .a",
		},
		{
			name: "history only", kase: passCase, result: strings.Replace(passResult, `"previousEventId":1`, `"previousEventId":0`, 1),
			match:    true,
			mismatch: "history: event 2: ExecutionSucceeded previousEventId: got 0, want 1", category: "history: ExecutionSucceeded previousEventId differs",
		},
		{name: "error and cause; a JSON-object cause is decoded", kase: failCase, result: `{"status":"FAILED","error":"E","cause":"{\"reason\":\"bad\"}"}`, match: true},
		{
			name: "cause", kase: failCase, result: `{"status":"FAILED","error":"E","cause":"{\"reason\":\"worse\"}"}`,
			mismatch: `cause.reason: got "worse", want "bad"`, category: `cause differs (E); want: {"…":"…"}`,
		},
		{name: "cause missing", kase: failCase, result: `{"status":"FAILED","error":"E"}`, mismatch: `cause: missing, want {"reason":"bad"}`, category: "cause missing"},
		{name: "error unexpected", kase: passCase, result: strings.Replace(passResult, `"status":"SUCCEEDED"`, `"status":"SUCCEEDED","error":"X"`, 1), mismatch: `error: unexpected, got "X"`, category: "error unexpected"},
		{name: "not JSON", kase: failCase, result: `oops`, mismatch: `engine result is not a JSON object: "oops"`, category: "engine result is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := CheckExecution(loadOne(t, tc.kase), []byte(tc.result))
			mismatch, category := o.Mismatch, o.Category
			if o.Match {
				mismatch, category = o.HistoryMismatch, o.HistoryCategory
			}
			if o.Match != tc.match || o.HistoryMatch != tc.history || mismatch != tc.mismatch || category != tc.category {
				t.Errorf("got  match %v history %v %q %q\nwant match %v history %v %q %q",
					o.Match, o.HistoryMatch, mismatch, category, tc.match, tc.history, tc.mismatch, tc.category)
			}
		})
	}
}

func TestCheckExecutionReversedHistory(t *testing.T) {
	kase := strings.Replace(passCase, `"expect": {`, `"expect": {"history_request": {"reverseOrder": true},`, 1)
	kase = strings.Replace(kase, `"events": [`, `"events": [`+
		`{"id": 2, "previousEventId": 1, "timestamp": "timestamp", "type": "ExecutionSucceeded", "executionSucceededEventDetails": {"output": {"a": [1, 2], "when": "date"}, "outputDetails": {"truncated": false}}},`+
		`{"id": 1, "previousEventId": 0, "timestamp": "timestamp", "type": "ExecutionStarted", "executionStartedEventDetails": {"input": {"a": [1, 2]}, "inputDetails": {"truncated": false}, "roleArn": "snf_role_arn"}}],"unused":[`, 1)
	if o := CheckExecution(loadOne(t, kase), []byte(passResult)); !o.HistoryMatch {
		t.Errorf("reversed history: %s", o.HistoryMismatch)
	}
}

func TestWithoutExecutionData(t *testing.T) {
	events := eventList(t, `[{"type":"TaskScheduled","taskScheduledEventDetails":{"resource":"r","parameters":"{}"}},`+
		`{"type":"PassStateExited","stateExitedEventDetails":{"name":"P","output":"1","outputDetails":{"truncated":false}}}]`)
	want := `[{"type":"TaskScheduled","taskScheduledEventDetails":{"resource":"r"}},{"type":"PassStateExited","stateExitedEventDetails":{"name":"P"}}]`
	if got := withoutExecutionData(events); jsonv.String(got) != want {
		t.Errorf("got %s, want %s", jsonv.String(got), want)
	}
}

const invalidCase = `{"definition": {"StartAt": "W"}, "context": {"api": "CreateStateMachine", "normalization": {"replacements": []}},
  "expect": {"invalid": true, "error_code": "InvalidDefinition",
    "message": "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: bad arn:<partition>:x at /States/W'"}}`

const validateCase = `{"definition": {}, "context": {"request_args": {"type": "EXPRESS"}, "normalization": {"replacements": []}},
  "expect": {"validation_result": "FAIL", "validate_response": {"diagnostics": [
    {"code": "SCHEMA_VALIDATION_FAILED", "location": "/", "message": "These fields are required: [States, StartAt]", "severity": "ERROR"}]}}}`

func TestCheckDefinition(t *testing.T) {
	schema := func(msg, loc string) *Rejection {
		return &Rejection{
			Message:     "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: " + msg + " at " + loc + "'",
			Diagnostics: []Diagnostic{{Code: "SCHEMA_VALIDATION_FAILED", Message: msg, Location: loc}},
		}
	}
	for _, tc := range []struct {
		name, kase                          string
		rej                                 *Rejection
		match, messageMatch                 bool
		mismatch, category, messageMismatch string
	}{
		{name: "same code and message", kase: invalidCase, rej: schema("bad arn:aws:x", "/States/W"), match: true, messageMatch: true},
		{name: "same code", kase: invalidCase, rej: schema("other", "/States/W"), match: true,
			messageMismatch: "message: got Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: other at /States/W', want Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: bad arn:<partition>:x at /States/W'"},
		{name: "accepted", kase: invalidCase, mismatch: "definition accepted, want Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: bad arn:<partition>:x at /States/W'",
			category: "invalid definition accepted (want SCHEMA_VALIDATION_FAILED)"},
		{name: "other code", kase: invalidCase, rej: &Rejection{Message: "Invalid State Machine Definition: 'MISSING_END_STATE: x at /'"},
			mismatch: "got Invalid State Machine Definition: 'MISSING_END_STATE: x at /', want Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: bad arn:<partition>:x at /States/W'",
			category: "invalid definition: got MISSING_END_STATE, want SCHEMA_VALIDATION_FAILED"},
		{name: "validation", kase: validateCase, rej: schema("These fields are required: [States, StartAt]", "/"), match: true, messageMatch: true},
		{name: "validation message", kase: validateCase, rej: schema("These fields are required: [StartAt, States]", "/"), match: true,
			messageMismatch: "diagnostic SCHEMA_VALIDATION_FAILED: got These fields are required: [StartAt, States] at /, want These fields are required: [States, StartAt] at /"},
		{name: "validation passed", kase: validateCase, mismatch: "validation: got OK , want FAIL SCHEMA_VALIDATION_FAILED", category: "validation: got OK, want FAIL"},
		{name: "validation codes", kase: validateCase, rej: &Rejection{Diagnostics: []Diagnostic{{Code: "INVALID_JSON_DESCRIPTION"}}},
			mismatch: "validation: got FAIL INVALID_JSON_DESCRIPTION, want FAIL SCHEMA_VALIDATION_FAILED", category: "validation: diagnostic codes differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := CheckDefinition(loadOne(t, tc.kase), tc.rej)
			if o.Match != tc.match || o.MessageMatch != tc.messageMatch || o.Mismatch != tc.mismatch || o.Category != tc.category || o.MessageMismatch != tc.messageMismatch {
				t.Errorf("got  %v %v %q %q %q\nwant %v %v %q %q %q", o.Match, o.MessageMatch, o.Mismatch, o.Category, o.MessageMismatch,
					tc.match, tc.messageMatch, tc.mismatch, tc.category, tc.messageMismatch)
			}
		})
	}
}

// fakeEngine answers from fixed results, recording the machine type it validated for.
type fakeEngine struct {
	result string
	err    error
	panics bool
	vType  string
}

func (f *fakeEngine) Validate(definition, machineType string) *Rejection {
	f.vType = machineType
	return nil
}

func (f *fakeEngine) TestState(ctx context.Context, request []byte) ([]byte, error) {
	return []byte(f.result), f.err
}

func (f *fakeEngine) Run(ctx context.Context, req Request) ([]byte, error) {
	if f.panics {
		panic("boom")
	}
	return []byte(f.result), f.err
}

func TestRunCase(t *testing.T) {
	for _, tc := range []struct {
		name     string
		eng      fakeEngine
		kase     string
		skip     string
		match    bool
		category string
	}{
		{name: "run", eng: fakeEngine{result: passResult}, kase: passCase, match: true},
		{name: "skipped", kase: `{"requires":["sqs"],"expect":{}}`, skip: "requires sqs"},
		{name: "engine error", eng: fakeEngine{err: errors.New("stuck at 12")}, kase: passCase, category: "engine error: stuck at N"},
		{name: "rejected", eng: fakeEngine{err: &Rejection{Message: "Invalid State Machine Definition: 'X: at /'"}}, kase: passCase,
			category: "definition rejected: Invalid State Machine Definition: '…'"},
		{name: "panic", eng: fakeEngine{panics: true}, kase: passCase, category: "engine panic: boom"},
		{name: "definition", kase: validateCase, category: "validation: got OK, want FAIL"},
		{name: "unknown kind", kase: `{"expect":{}}`, category: "no runner for case kind odd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadOne(t, tc.kase)
			if tc.name == "unknown kind" {
				c.Kind = "odd"
			}
			o := RunCase(context.Background(), &tc.eng, c, time.Second)
			if o.Skip != tc.skip || o.Match != tc.match || o.Category != tc.category {
				t.Errorf("got skip %q match %v %q, want skip %q match %v %q", o.Skip, o.Match, o.Category, tc.skip, tc.match, tc.category)
			}
		})
	}
}

func TestExecutionRequest(t *testing.T) {
	c := loadOne(t, passCase)
	got := executionRequest(c)
	want := Request{
		Definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, Type: "STANDARD", Input: `{"a": [1, 2]}`,
		StateMachineName: "sm_u1", ExecutionName: "exec_u1", RoleArn: "arn:aws:iam::111111111111:role/r",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	c = loadOne(t, `{"context":{"resources":[{"kind":"lambda","name":"fn_u1","runtime":"python3.12",
		"handler_file":"tests/x/id_function.py"},{"kind":"sqs_queue","name":"q"}]},"expect":{}}`)
	if got := executionRequest(c).Functions; !reflect.DeepEqual(got, []Function{{Name: "fn_u1", Runtime: "python3.12", Handler: "tests/x/id_function.py"}}) {
		t.Errorf("functions: got %+v", got)
	}
	c = loadOne(t, `{"context":{"input_kind":"omitted","clock_dependent":true},"expect":{}}`)
	if got := executionRequest(c); got.Input != "{}" || !got.Start.Equal(FrozenClock) {
		t.Errorf("omitted input, frozen clock: got input %q start %v", got.Input, got.Start)
	}
	var eng fakeEngine
	RunCase(context.Background(), &eng, loadOne(t, validateCase), time.Second)
	if eng.vType != "EXPRESS" {
		t.Errorf("validated as %q, want the request's EXPRESS", eng.vType)
	}
}

func TestRunAllAndReport(t *testing.T) {
	var cases []*Case
	for _, text := range []string{passCase, failCase, `{"requires":["sqs"],"expect":{}}`, passCase} {
		c := loadOne(t, text)
		cases = append(cases, c)
	}
	cases[1].Group = "other"
	outcomes := RunAll(context.Background(), &fakeEngine{result: passResult}, cases, 3, time.Second)
	for i, o := range outcomes {
		if o.Case != cases[i] {
			t.Fatalf("outcome %d is for another case", i)
		}
	}
	total := Total(outcomes)
	if total.Cases != 4 || total.Run != 3 || total.Match != 2 || total.Skipped != 1 || total.HistoryRecorded != 2 || total.HistoryMatch != 2 {
		t.Errorf("Total = %+v", total)
	}
	var buf bytes.Buffer
	WriteReport(&buf, outcomes, true)
	for _, want := range []string{
		"g      3      2    2 (100.0%)                 2/2      1",
		"total  4      3    2 (66.7%)                  2/2      1",
		"     1  requires sqs",
		"     1  status: got SUCCEEDED, want FAILED (E: {\"…\":\"…\"})  [e.g. g/c]",
		"FAIL    g/c: status: got SUCCEEDED, want FAILED (E: {\"reason\":\"bad\"})",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestLeafKey(t *testing.T) {
	for path, want := range map[string]string{
		"output":                          "",
		"output[3]":                       "",
		"output.a.key_1":                  " at .key_1",
		"output.items[2][0]":              " at .items",
		"output.query.execution.Redrive1": " at .Redrive1",
	} {
		if got := leafKey(path); got != want {
			t.Errorf("leafKey(%q) = %q, want %q", path, got, want)
		}
	}
}
