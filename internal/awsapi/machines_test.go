package awsapi_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The expected answers are AWS's, as LocalStack's snapshot
// (tests/aws/services/stepfunctions/v2/test_sfn_api_logs.snapshot.json,
// test_incomplete_logging_configuration) recorded them.
func TestLoggingConfigurationWithoutDestinations(t *testing.T) {
	t.Parallel()
	url := setup(t)
	tests := []struct {
		name, logging, want string
	}{
		{"none", `{}`, `{"includeExecutionData":false,"level":"OFF"}`},
		{"an empty list", `{"destinations":[]}`, `{"destinations":[],"includeExecutionData":false,"level":"OFF"}`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "logs" + string(rune('a'+i))
			c := call(t, url, act("CreateStateMachine"), `{"name":"`+name+`","definition":`+jsonString(pass)+
				`,"roleArn":"`+role+`","loggingConfiguration":`+tt.logging+`}`)
			if c.status != 200 {
				t.Fatalf("CreateStateMachine: %d %v", c.status, c.body)
			}
			d := call(t, url, act("DescribeStateMachine"), `{"stateMachineArn":"`+c.body["stateMachineArn"].(string)+`"}`)
			var want any
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.body["loggingConfiguration"], want) {
				t.Errorf("loggingConfiguration = %v, want %s", d.body["loggingConfiguration"], tt.want)
			}
		})
	}
}

// The expected references are AWS's, as LocalStack's snapshot
// (tests/aws/services/stepfunctions/v2/test_sfn_api_variable_references.snapshot.json,
// BASE_REFERENCE_IN_CHOICE and BASE_ASSIGN_FROM_RESULT) recorded them; the snapshot sorts
// each list, so the order here is Stepline's.
func TestDescribeReportsVariableReferences(t *testing.T) {
	t.Parallel()
	url := setup(t)
	refs := `{"StartAt":"Setup","States":{
		"Setup":{"Type":"Pass","Assign":{"guess":"the_guess","answer":"the_answer"},"Next":"CheckAnswer"},
		"CheckAnswer":{"Type":"Choice","Choices":[{"Variable":"$guess","StringEqualsPath":"$answer","Next":"CorrectAnswer"}],"Default":"WrongAnswer"},
		"CorrectAnswer":{"Type":"Pass","End":true},
		"WrongAnswer":{"Type":"Pass","Assign":{"guess.$":"$answer"},"Next":"CorrectAnswer"}}}`
	none := `{"StartAt":"State0","States":{"State0":{"Type":"Pass","Result":{"answer":42},"Assign":{"theAnswer.$":"$.answer"},"End":true}}}`
	want := map[string]any{"CheckAnswer": []any{"guess", "answer"}, "WrongAnswer": []any{"answer"}}

	c := call(t, url, act("CreateStateMachine"), `{"name":"refs","definition":`+jsonString(refs)+`,"roleArn":"`+role+`"}`)
	arn := c.body["stateMachineArn"].(string)
	d := call(t, url, act("DescribeStateMachine"), `{"stateMachineArn":"`+arn+`"}`)
	if !reflect.DeepEqual(d.body["variableReferences"], want) {
		t.Errorf("DescribeStateMachine variableReferences = %v, want %v", d.body["variableReferences"], want)
	}
	x := call(t, url, act("StartExecution"), `{"stateMachineArn":"`+arn+`"}`)
	exec := x.body["executionArn"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for call(t, url, act("DescribeExecution"), `{"executionArn":"`+exec+`"}`).body["status"] == "RUNNING" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	f := call(t, url, act("DescribeStateMachineForExecution"), `{"executionArn":"`+exec+`"}`)
	if !reflect.DeepEqual(f.body["variableReferences"], want) {
		t.Errorf("DescribeStateMachineForExecution variableReferences = %v, want %v", f.body["variableReferences"], want)
	}

	c = call(t, url, act("CreateStateMachine"), `{"name":"norefs","definition":`+jsonString(none)+`,"roleArn":"`+role+`"}`)
	d = call(t, url, act("DescribeStateMachine"), `{"stateMachineArn":"`+c.body["stateMachineArn"].(string)+`"}`)
	if v, ok := d.body["variableReferences"]; ok {
		t.Errorf("a machine that reads no variables has variableReferences %v, want none", v)
	}
}
