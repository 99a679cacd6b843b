package awsapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/awsapi"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store/sqlite"
)

const (
	role    = "arn:aws:iam::123456789012:role/r"
	machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
	pass    = `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
)

// setup serves the API on a fresh SQLite database with a running engine.
func setup(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: st, Node: "test", WaitScale: 1, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Options{Store: st, Engine: eng, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := awsapi.New(awsapi.Options{Service: svc, ActivityPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		_ = eng.Stop(ctx)
		_ = st.Close()
	})
	return srv.URL
}

type reply struct {
	status int
	body   map[string]any
	header http.Header
}

func call(t *testing.T, url, target, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("%s answered %d with non-JSON %q", target, resp.StatusCode, b)
	}
	return r
}

func act(name string) string { return awsapi.TargetPrefix + name }

func TestBadRequests(t *testing.T) {
	t.Parallel()
	url := setup(t)
	if r := call(t, url, act("CreateStateMachine"), `{"name":"m","definition":`+jsonString(pass)+`,"roleArn":"`+role+`"}`); r.status != 200 {
		t.Fatalf("creating the machine: %d %v", r.status, r.body)
	}
	big := strings.Repeat("x", awsapi.MaxRequestBody)
	tests := []struct {
		name, target, body string
		status             int
		code, message      string
	}{
		{"malformed JSON", act("ListStateMachines"), `{"maxResults":`, 400, "SerializationException", ""},
		{"not an object", act("ListStateMachines"), `[1,2]`, 400, "SerializationException", ""},
		{"wrong member type", act("CreateStateMachine"), `{"name":5,"definition":"{}","roleArn":"x"}`, 400, "SerializationException", ""},
		{"unknown action", act("Frobnicate"), `{}`, 400, "UnknownOperationException", ""},
		{"no target", "", `{}`, 400, "UnknownOperationException", ""},
		{"another service", "AWSEvents.PutRule", `{}`, 400, "UnknownOperationException", ""},
		{"oversized body", act("StartExecution"), `{"stateMachineArn":"` + machine + `","input":"` + big + `"}`, 413, "RequestEntityTooLargeException", ""},
		{"oversized input", act("StartExecution"), `{"stateMachineArn":"` + machine + `","input":"` + big[:262145] + `"}`, 400, "ValidationException",
			"1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to 262144"},
		{"missing member", act("CreateStateMachine"), `{"definition":"{}","roleArn":"` + role + `"}`, 400, "ValidationException",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"two failures", act("CreateStateMachine"), `{"name":"","definition":"{}","roleArn":"` + role + `","type":"FAST"}`, 400, "ValidationException",
			"2 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value 'FAST' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"},
		{"long name", act("CreateStateMachine"), `{"name":"` + strings.Repeat("n", 81) + `","definition":"{}","roleArn":"` + role + `"}`, 400, "ValidationException",
			"1 validation error detected: Value '" + strings.Repeat("n", 81) + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"},
		{"page too big", act("ListExecutions"), `{"stateMachineArn":"` + machine + `","maxResults":1001}`, 400, "ValidationException",
			"1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		// AWS's wording and order as recorded by LocalStack's test_sfn_api snapshot (test_state_machine_status_filter).
		{"bad status filter", act("ListExecutions"), `{"stateMachineArn":"` + machine + `","statusFilter":"succeeded"}`, 400, "ValidationException",
			"1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"},
		{"name with space", act("CreateStateMachine"), `{"name":"a b","definition":` + jsonString(pass) + `,"roleArn":"` + role + `"}`, 400, "InvalidName", "Invalid Name: 'a b'"},
		{"name with slash", act("CreateStateMachine"), `{"name":"a/b","definition":` + jsonString(pass) + `,"roleArn":"` + role + `"}`, 400, "InvalidName", ""},
		{"name with control", act("CreateActivity"), `{"name":"a\u0001b"}`, 400, "InvalidName", ""},
		{"execution name with star", act("StartExecution"), `{"stateMachineArn":"` + machine + `","name":"x*"}`, 400, "InvalidName", ""},
		{"invalid definition", act("CreateStateMachine"), `{"name":"n","definition":"{\"StartAt\":\"X\",\"States\":{}}","roleArn":"` + role + `"}`, 400, "InvalidDefinition", ""},
		{"bad role", act("CreateStateMachine"), `{"name":"n","definition":` + jsonString(pass) + `,"roleArn":"role"}`, 400, "InvalidArn", "Invalid Arn: 'Invalid ARN prefix: role'"},
		{"not an ARN", act("DescribeStateMachine"), `{"stateMachineArn":"m"}`, 400, "InvalidArn", "Invalid Arn: 'Invalid ARN prefix: m'"},
		{"wrong ARN type", act("DescribeExecution"), `{"executionArn":"` + machine + `"}`, 400, "InvalidArn",
			"Invalid Arn: 'Resource type not valid in this context: stateMachine'"},
		{"unknown ARN type", act("DescribeStateMachine"), `{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:thing:x"}`, 400, "InvalidArn", ""},
		{"other service's ARN", act("StartExecution"), `{"stateMachineArn":"arn:aws:lambda:us-east-1:123456789012:function:f"}`, 400, "InvalidArn", ""},
		{"broken input", act("StartExecution"), `{"stateMachineArn":"` + machine + `","input":"{"}`, 400, "InvalidExecutionInput", ""},
		// AWS's wording as recorded by LocalStack's test_sfn_api snapshot (test_invalid_start_execution_input).
		{"empty input", act("StartExecution"), `{"stateMachineArn":"` + machine + `","input":""}`, 400, "InvalidExecutionInput",
			"Invalid State Machine Execution Input: 'Invalid execution input.'"},
		{"missing machine", act("StartExecution"), `{"stateMachineArn":"` + machine + `x"}`, 400, "StateMachineDoesNotExist",
			"State Machine Does Not Exist: '" + machine + "x'"},
		{"bad page token", act("ListStateMachines"), `{"nextToken":"!!"}`, 400, "InvalidToken", ""},
		{"version description without publish", act("CreateStateMachine"), `{"name":"v","definition":` + jsonString(pass) + `,"roleArn":"` + role + `","versionDescription":"d"}`,
			400, "ValidationException", "Version description can only be set when publish is true"},
	}
	for _, tt := range tests {
		r := call(t, url, tt.target, tt.body)
		if r.status != tt.status || r.body["__type"] != tt.code {
			t.Errorf("%s: %d %v, want %d %s", tt.name, r.status, r.body, tt.status, tt.code)
			continue
		}
		if msg, _ := r.body["message"].(string); msg == "" || (tt.message != "" && msg != tt.message) {
			t.Errorf("%s: message %q, want %q", tt.name, msg, tt.message)
		}
		if got := r.header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
			t.Errorf("%s: Content-Type %q", tt.name, got)
		}
	}
	// Nothing refused was stored.
	if r := call(t, url, act("ListStateMachines"), `{}`); len(r.body["stateMachines"].([]any)) != 1 {
		t.Errorf("state machines after refusals: %v", r.body)
	}
	if r := call(t, url, act("ListExecutions"), `{"stateMachineArn":"`+machine+`"}`); len(r.body["executions"].([]any)) != 0 {
		t.Errorf("executions after refusals: %v", r.body)
	}
	if r := call(t, url, act("ListActivities"), `{}`); len(r.body["activities"].([]any)) != 0 {
		t.Errorf("activities after refusals: %v", r.body)
	}
}

func TestUnknownMembersAreIgnored(t *testing.T) {
	t.Parallel()
	url := setup(t)
	r := call(t, url, act("CreateStateMachine"), `{"name":"m","definition":`+jsonString(pass)+`,"roleArn":"`+role+`","futureField":{"a":[1]}}`)
	if r.status != 200 || r.body["stateMachineArn"] != machine {
		t.Fatalf("CreateStateMachine with an unknown member: %d %v", r.status, r.body)
	}
	if _, ok := r.body["creationDate"].(float64); !ok {
		t.Errorf("creationDate %v is not an epoch number", r.body["creationDate"])
	}
}

func TestEmptyBodyMeansNoMembers(t *testing.T) {
	t.Parallel()
	url := setup(t)
	r := call(t, url, act("ListActivities"), ``)
	if r.status != 200 {
		t.Fatalf("ListActivities with an empty body: %d %v", r.status, r.body)
	}
}

func TestGetActivityTaskWithNoTaskAnswersWithNoToken(t *testing.T) {
	t.Parallel()
	url := setup(t)
	a := call(t, url, act("CreateActivity"), `{"name":"idle"}`)
	r := call(t, url, act("GetActivityTask"), `{"activityArn":"`+a.body["activityArn"].(string)+`"}`)
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("GetActivityTask on an idle activity: %d %v, want {}", r.status, r.body)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
