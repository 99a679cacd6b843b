package awsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// actions are the 37 actions of the API.
var actions = []string{"CreateStateMachine", "DescribeStateMachine", "UpdateStateMachine", "DeleteStateMachine",
	"ListStateMachines", "ValidateStateMachineDefinition", "StartExecution", "DescribeExecution",
	"DescribeStateMachineForExecution", "StopExecution", "ListExecutions", "GetExecutionHistory", "CreateActivity",
	"DescribeActivity", "ListActivities", "DeleteActivity", "GetActivityTask", "SendTaskSuccess", "SendTaskFailure",
	"SendTaskHeartbeat", "ListTagsForResource", "TagResource", "UntagResource", "PublishStateMachineVersion",
	"ListStateMachineVersions", "DeleteStateMachineVersion", "CreateStateMachineAlias", "DescribeStateMachineAlias",
	"UpdateStateMachineAlias", "DeleteStateMachineAlias", "ListStateMachineAliases", "RedriveExecution", "TestState",
	"StartSyncExecution", "DescribeMapRun", "ListMapRuns", "UpdateMapRun"}

// FuzzAPI sends arbitrary bodies to every action of a served API: every answer is JSON, an
// error answer carries AWS's __type and a message, and none is a server fault (5xx), which
// bad input never is.
func FuzzAPI(f *testing.F) {
	url := setup(f)
	exec := "arn:aws:states:us-east-1:123456789012:execution:m:e"
	for i := range actions {
		for _, body := range []string{`{}`, ``, `null`, `{"maxResults":-1}`, `{"stateMachineArn":"` + machine + `"}`,
			`{"executionArn":"` + exec + `","error":"E"}`, `{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:m/L:x"}`,
			`{"name":"m","definition":` + jsonString(pass) + `,"roleArn":"` + role + `"}`,
			`{"stateMachineArn":"` + machine + `","name":"e","input":"{\"a\":[1,2]}"}`,
			`{"definition":` + jsonString(pass) + `,"input":"{}","roleArn":"` + role + `"}`,
			`{"mapRunArn":"arn:aws:states:us-east-1:123456789012:mapRun:m/L:e-1","maxConcurrency":2}`,
			`{"taskToken":"` + strings.Repeat("t", 40) + `","output":"{}"}`,
			`{"resourceArn":"` + machine + `","tags":[{"key":"k","value":"v"}]}`} {
			f.Add(uint8(i), body)
		}
	}
	f.Fuzz(func(t *testing.T, action uint8, body string) {
		name := actions[int(action)%len(actions)]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", act(name))
		resp, err := http.DefaultClient.Do(req)
		if errors.Is(err, context.DeadlineExceeded) {
			return // a call that may wait (StartSyncExecution of a machine that waits)
		}
		if err != nil {
			t.Fatalf("%s %q: %v", name, body, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %q: %v", name, body, err)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %q answered %d with non-JSON %q", name, body, resp.StatusCode, b)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q answered %d: %s", name, body, resp.StatusCode, b)
		}
		if resp.StatusCode != http.StatusOK {
			if typ, _ := out["__type"].(string); typ == "" || out["message"] == nil {
				t.Fatalf("%s %q answered %d without __type and message: %s", name, body, resp.StatusCode, b)
			}
		}
	})
}
