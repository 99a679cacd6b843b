package awsapi_test

import "testing"

func TestTestStateAndSyncRequests(t *testing.T) {
	t.Parallel()
	url := setup(t)
	if r := call(t, url, act("CreateStateMachine"), `{"name":"m","definition":`+jsonString(pass)+`,"roleArn":"`+role+`"}`); r.status != 200 {
		t.Fatalf("creating the machine: %d %v", r.status, r.body)
	}
	passState := jsonString(`{"Type":"Pass","Next":"B"}`)
	for _, tc := range []struct {
		name, target, body string
		code, message      string
		status             string // of an answer that is not an error
	}{
		{name: "test state", target: "TestState", body: `{"definition":` + passState + `,"input":"{\"a\":1}"}`, status: "SUCCEEDED"},
		{name: "no definition", target: "TestState", body: `{}`, code: "ValidationException",
			message: "1 validation error detected: Value null at 'definition' failed to satisfy constraint: Member must not be null"},
		{name: "empty state name", target: "TestState", body: `{"definition":` + jsonString(pass) + `,"stateName":""}`, code: "ValidationException",
			message: "1 validation error detected: Value '' at 'stateName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "inspection level", target: "TestState", body: `{"definition":` + passState + `,"inspectionLevel":"ALL"}`, code: "ValidationException",
			message: "1 validation error detected: Value 'ALL' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"},
		{name: "mocked pass", target: "TestState", body: `{"definition":` + passState + `,"mock":{"result":"{}"}}`, code: "ValidationException",
			message: "State type 'Pass' is not supported when a mock is specified"},
		{name: "invalid definition", target: "TestState", body: `{"definition":"{\"Type\":\"Nope\"}"}`, code: "InvalidDefinition"},
		{name: "sync of a standard machine", target: "StartSyncExecution", body: `{"stateMachineArn":"` + machine + `"}`, code: "StateMachineTypeNotSupported",
			message: "This operation is not supported by this type of state machine"},
		{name: "sync without a machine", target: "StartSyncExecution", body: `{}`, code: "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, url, act(tc.target), tc.body)
			if tc.code == "" {
				if r.status != 200 || r.body["status"] != tc.status {
					t.Errorf("got %d %v, want status %s", r.status, r.body, tc.status)
				}
				return
			}
			if r.status != 400 || r.body["__type"] != tc.code || tc.message != "" && r.body["message"] != tc.message {
				t.Errorf("got %d %v, want %s: %s", r.status, r.body, tc.code, tc.message)
			}
		})
	}
}
