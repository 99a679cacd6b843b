package teststate

import (
	"errors"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

func TestRun(t *testing.T) {
	const task = `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
		"Retry":[{"ErrorEquals":["Retry.Me"],"IntervalSeconds":2,"MaxAttempts":2,"BackoffRate":3}],
		"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Handle"}],"Next":"After"}`
	for _, tc := range []struct {
		name                               string
		req                                Request
		status, next, output, error, cause string
		retryBackoff                       int64
	}{
		{name: "pass goes on to Next", req: Request{Definition: `{"Type":"Pass","Result":{"a":1},"ResultPath":"$.r","Next":"B"}`, Input: `{"x":0}`},
			status: "SUCCEEDED", next: "B", output: `{"x":0,"r":{"a":1}}`},
		{name: "choice", req: Request{Definition: `{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":1,"Next":"Big"}],"Default":"Small"}`, Input: `{"n":2}`},
			status: "SUCCEEDED", next: "Big", output: `{"n":2}`},
		{name: "fail", req: Request{Definition: `{"Type":"Fail","Error":"E","Cause":"C"}`},
			status: "FAILED", error: "E", cause: "C"},
		{name: "mocked task", req: Request{Definition: task, Input: `{}`, Mock: &Mock{Result: ptr(`{"ok": true}`)}},
			status: "SUCCEEDED", next: "After", output: `{"ok": true}`},
		{name: "caught", req: Request{Definition: task, Input: `{}`, Mock: &Mock{ErrorOutput: &ErrorOutput{Error: ptr("X"), Cause: ptr("why")}}},
			status: "CAUGHT_ERROR", next: "Handle", output: `{"error":{"Error":"X","Cause":"why"}}`, error: "X", cause: "why"},
		{name: "retriable", req: Request{Definition: task, Input: `{}`, InspectionLevel: "DEBUG", Mock: &Mock{ErrorOutput: &ErrorOutput{Error: ptr("Retry.Me")}},
			StateConfiguration: &StateConfiguration{RetrierRetryCount: new(int64(1))}},
			status: "RETRIABLE", error: "Retry.Me", retryBackoff: 6},
		{name: "variables", req: Request{Definition: `{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $v %}","End":true}`, Variables: `{"v":[1]}`},
			status: "SUCCEEDED", output: `[1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Region, tc.req.Account = "us-east-1", "123456789012"
			resp, err := Run(&tc.req, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.status || resp.NextState != tc.next || str(resp.Output) != tc.output ||
				str(resp.Error) != tc.error || str(resp.Cause) != tc.cause {
				t.Errorf("got %s next %q output %s error %s cause %s; want %s next %q output %s error %s cause %s",
					resp.Status, resp.NextState, str(resp.Output), str(resp.Error), str(resp.Cause),
					tc.status, tc.next, tc.output, tc.error, tc.cause)
			}
			if tc.retryBackoff != 0 {
				d := resp.InspectionData.ErrorDetails
				if d == nil || d.RetryBackoffIntervalSeconds == nil || *d.RetryBackoffIntervalSeconds != tc.retryBackoff {
					t.Errorf("errorDetails = %+v, want a backoff of %d s", d, tc.retryBackoff)
				}
			}
		})
	}
}

// TestInspectionTexts: inspection data gives the input's own text where the input goes on
// unchanged, and a Map's items after ItemsPath.
func TestInspectionTexts(t *testing.T) {
	const input = `{"values": [1, 2], "n": 1}`
	for _, tc := range []struct {
		name, def                  string
		afterInputPath, afterItems string
	}{
		{name: "input unchanged", def: `{"Type":"Pass","End":true}`, afterInputPath: input},
		{name: "part of the input", def: `{"Type":"Pass","InputPath":"$.values","End":true}`, afterInputPath: `[1,2]`},
		{name: "map items", def: `{"Type":"Map","ItemsPath":"$.values","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}`,
			afterInputPath: input, afterItems: `[1,2]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Definition: tc.def, Input: input, InspectionLevel: "TRACE", Region: "us-east-1", Account: "123456789012"}
			if tc.afterItems != "" {
				req.Mock = &Mock{Result: ptr(`["x", "y"]`)}
			}
			resp, err := Run(&req, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			in := resp.InspectionData
			if str(in.AfterInputPath) != tc.afterInputPath || str(in.AfterItemsPath) != tc.afterItems {
				t.Errorf("afterInputPath %s, afterItemsPath %s; want %s and %s", str(in.AfterInputPath), str(in.AfterItemsPath), tc.afterInputPath, tc.afterItems)
			}
		})
	}
}

// TestMapItemsOnContext: a Map whose ItemsPath reads the context object and finds no array
// fails as AWS words it, without the usual words on the state.
func TestMapItemsOnContext(t *testing.T) {
	req := Request{Definition: `{"Type":"Map","ItemsPath":"$$.Execution.Input","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}`,
		Input: `{"a":1}`, Mock: &Mock{Result: ptr(`[]`)}, Region: "us-east-1", Account: "123456789012"}
	resp, err := Run(&req, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "FAILED" || str(resp.Error) != "States.Runtime" || str(resp.Cause) != `Reference path "$.Execution.Input" must point to array.` {
		t.Fatalf("got %s %s %s", resp.Status, str(resp.Error), str(resp.Cause))
	}
}

func TestRunRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, code, message string
		req                 Request
	}{
		{"mocked pass", CodeValidation, "State type 'Pass' is not supported when a mock is specified",
			Request{Definition: `{"Type":"Pass","End":true}`, Mock: &Mock{Result: ptr(`{}`)}}},
		{"mock not JSON", CodeValidation, "Mocked result must be valid JSON",
			Request{Definition: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}`, Mock: &Mock{Result: ptr(`{`)}}},
		{"parallel without a mock", CodeInvalidDefinition, "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
			Request{Definition: `{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}],"End":true}`}},
		{"task without a role", CodeValidation, "RoleArn must be specified when testing a Task state",
			Request{Definition: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}`}},
		{"unknown state", CodeValidation, "State not found in definition",
			Request{Definition: `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, StateName: "B"}},
		{"context with Map", CodeValidation, "Invalid Context object provided: 'Map' field is not supported when mocking a Context object",
			Request{Definition: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}`, Mock: &Mock{Result: ptr(`{}`)}, Context: `{"Map":{}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(&tc.req, time.Unix(0, 0))
			var te *Error
			if !errors.As(err, &te) || te.Code != tc.code || te.Message != tc.message {
				t.Errorf("err = %v, want %s: %s", err, tc.code, tc.message)
			}
		})
	}
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
