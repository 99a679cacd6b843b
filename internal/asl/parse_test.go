package asl

import (
	"errors"
	"strings"
	"testing"
)

// machine wraps states (the members of a States object, as JSON text) in a machine starting at
// the first one, "S".
func machine(states string) string {
	return `{"StartAt":"S","States":{` + states + `}}`
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  string
		typ  MachineType
		want []string // Diagnostic.String() of each diagnostic, in order
	}{
		{"empty", ``, Standard, []string{"SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null"}},
		{"not an object", `[1]`, Standard, []string{"SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null"}},
		{"bare word", `not a definition`, Standard, []string{
			"INVALID_JSON_DESCRIPTION: Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n" +
				` at [Source: (String)"not a definition"; line: 1, column: 4] at [Source: (String)"not a definition"; line: 1, column: 4]`}},
		{"no fields", `{}`, Standard, []string{"SCHEMA_VALIDATION_FAILED: These fields are required: [States, StartAt] at /"}},
		{"no States", `{"StartAt":"S"}`, Standard, []string{"SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /"}},
		{"unknown top field", `{"StartAt":"S","Foo":1,"States":{"S":{"Type":"Succeed"}}}`, Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field 'Foo' is not supported at /"}},
		{"bad type", machine(`"S":{"Type":"Nope","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/S/Type"}},
		{"missing type", machine(`"S":{"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: These fields are required: [Type] at /States/S"}},
		{"field on wrong type", machine(`"S":{"Type":"Succeed","Next":"T"}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/S"}},
		{"unknown state field", machine(`"S":{"Type":"Pass","Message.$":"$.x","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field 'Message.$' is not supported at /States/S"}},
		{"wrong field type", machine(`"S":{"Type":"Pass","Comment":1,"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Expected value of type [STRING] at /States/S/Comment"}},
		{"next and end", machine(`"S":{"Type":"Pass","Next":"S","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Only one of these fields can be specified: [Next, End] at /States/S"}},
		{"neither next nor end", machine(`"S":{"Type":"Pass"}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: One of these fields is required: [Next, End] at /States/S"}},
		{"task without resource", machine(`"S":{"Type":"Task","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at /States/S"}},
		{"resource not an ARN", machine(`"S":{"Type":"Task","Resource":"${Fn}","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value is not a valid resource ARN at /States/S/Resource"}},
		{"unknown integration", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodb:query is not recognized. The value is not a valid resource ARN, or the resource is not available in this region. at /States/S/Resource"}},
		{"express activity", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:us-east-1:111111111111:activity:a","End":true}`), Express, []string{
			"SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/S/Resource"}},
		{"express sync", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","End":true}`), Express, []string{
			"SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/S/Resource"}},
		{"express token", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","End":true}`), Express, []string{
			"SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/S/Resource"}},
		{"standard token", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","End":true}`), Standard, nil},
		{"sdk integration", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:listBuckets","End":true}`), Standard, nil},
		{"credentials without role", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Credentials":{"X":1},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The field 'RoleArn' is required but was missing at /States/S/Credentials"}},
		{"credentials with dynamic role", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Credentials":{"RoleArn.$":"$.r"},"End":true}`), Standard, nil},
		{"timeout zero", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":0,"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value must be greater than or equal to 1 at /States/S/TimeoutSeconds"}},
		{"heartbeat not below timeout", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds' at /States/S/HeartbeatSeconds"}},
		{"timeout and path", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Only one of these fields can be specified: [TimeoutSeconds, TimeoutSecondsPath] at /States/S"}},
		{"retry on pass", machine(`"S":{"Type":"Pass","Retry":[],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field 'Retry' is not supported at /States/S"}},
		{"retry values", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["E"],"IntervalSeconds":0,"MaxAttempts":-1,"BackoffRate":0.5,"JitterStrategy":"X"}],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value must be greater than or equal to 1 at /States/S/Retry[0]/IntervalSeconds",
			"SCHEMA_VALIDATION_FAILED: Value must be greater than or equal to 0 at /States/S/Retry[0]/MaxAttempts",
			"SCHEMA_VALIDATION_FAILED: Value must be greater than or equal to 1.0 at /States/S/Retry[0]/BackoffRate",
			"SCHEMA_VALIDATION_FAILED: The field 'JitterStrategy' should have one of these values: [FULL, NONE] at /States/S/Retry[0]/JitterStrategy"}},
		{"retry unknown field", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["E"],"_comment":"x"}],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field '_comment' is not supported at /States/S/Retry[0]"}},
		{"states.all not alone", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["States.ALL","E"]}],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: 'States.ALL' must appear alone in 'ErrorEquals' at /States/S/Retry[0]/ErrorEquals"}},
		{"states.all not last", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["States.ALL"],"Next":"S"},{"ErrorEquals":["E"],"Next":"S"}],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: A retrier or catcher with 'States.ALL' in 'ErrorEquals' must be the last one at /States/S/Catch[0]"}},
		{"catch without next", machine(`"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":[]}],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: These fields are required: [Next] at /States/S/Catch[0]",
			"SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/S/Catch[0]/ErrorEquals"}},
		{"wait none", machine(`"S":{"Type":"Wait","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: One of these fields is required: [Seconds, SecondsPath, Timestamp, TimestampPath] at /States/S"}},
		{"wait two", machine(`"S":{"Type":"Wait","Seconds":1,"TimestampPath":"$.t","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Only one of these fields can be specified: [Seconds, SecondsPath, Timestamp, TimestampPath] at /States/S"}},
		{"wait bad timestamp", machine(`"S":{"Type":"Wait","Timestamp":"2016-12-05T21:29:29","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/S/Timestamp"}},
		{"wait negative", machine(`"S":{"Type":"Wait","Seconds":-1,"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value must be greater than or equal to 0 at /States/S/Seconds"}},
		{"fail error and path", machine(`"S":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Only one of these fields can be specified: [Error, ErrorPath] at /States/S"}},
		{"fail bad cause path", machine(`"S":{"Type":"Fail","CausePath":"cause"}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The value for the field 'CausePath' must be a valid JSONPath or a valid intrinsic function call at /States/S/CausePath"}},
		{"empty branches", machine(`"S":{"Type":"Parallel","Branches":[],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/S/Branches"}},
		{"branch without states", machine(`"S":{"Type":"Parallel","Branches":[{"StartAt":"B"}],"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /States/S/Branches[0]"}},
		{"bad template value", machine(`"S":{"Type":"Pass","Parameters":{"a":{"b.$":"nope"}},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The value for the field 'b.$' must be a valid JSONPath or a valid intrinsic function call at /States/S/Parameters"}},
		{"bad reference path", machine(`"S":{"Type":"Pass","ResultPath":"$.a[*]","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The value for the field 'ResultPath' must be a valid Reference Path at /States/S/ResultPath"}},
		{"bad input path", machine(`"S":{"Type":"Pass","InputPath":"a","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The value for the field 'InputPath' must be a valid JSONPath at /States/S/InputPath"}},
		{"choice empty", machine(`"S":{"Type":"Choice","Choices":[]}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/S/Choices"}},
		{"choice rule shape", machine(`"S":{"Type":"Choice","Choices":[{"Next":"S"},{"Variable":"$.x","Next":"S"},{"Variable":"$.x","StringEquals":1,"Next":"S"}]}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: A choice rule must have exactly one of these fields: [Variable, And, Or, Not] at /States/S/Choices[0]",
			"SCHEMA_VALIDATION_FAILED: A choice rule with 'Variable' must have exactly one comparison operator at /States/S/Choices[1]",
			"SCHEMA_VALIDATION_FAILED: Expected value of type [STRING] at /States/S/Choices[2]/StringEquals"}},
		{"choice nested next", machine(`"S":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.x","IsNull":true,"Next":"S"},"Next":"S"}]}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/S/Choices[0]/Not"}},
		{"choice rule without next", machine(`"S":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true}],"Default":"T"},"T":{"Type":"Succeed"}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: These fields are required: [Next] at /States/S/Choices[0]"}},
		{"map without processor", machine(`"S":{"Type":"Map","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: One of these fields is required: [ItemProcessor, Iterator] at /States/S"}},
		{"map distributed without execution type", machine(`"S":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: These fields are required: [ExecutionType] at /States/S/ItemProcessor/ProcessorConfig"}},
		{"map inline with execution type", machine(`"S":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE","ExecutionType":"STANDARD"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Field 'ExecutionType' is not supported at /States/S/ItemProcessor/ProcessorConfig"}},
		{"map values", machine(`"S":{"Type":"Map","MaxConcurrency":-1,"ToleratedFailurePercentage":101,"Label":"a b","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: Value must be greater than or equal to 0 at /States/S/MaxConcurrency",
			"SCHEMA_VALIDATION_FAILED: Value must be between 0 and 100 at /States/S/ToleratedFailurePercentage",
			"INVALID_LABEL_NAME: Label contains invalid characters at /States/S/Label"}},
		{"map item reader", machine(`"S":{"Type":"Map","ItemReader":{"Resource":"arn:aws:states:::s3:putObject","ReaderConfig":{"InputType":"XML"}},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::s3:putObject is not recognized. The value is not a valid resource ARN, or the resource is not available in this region. at /States/S/ItemReader/Resource",
			"SCHEMA_VALIDATION_FAILED: The field 'InputType' should have one of these values: [CSV, JSON, JSONL, MANIFEST, PARQUET] at /States/S/ItemReader/ReaderConfig/InputType"}},
		{"duplicate label", machine(`"S":{"Type":"Map","Label":"L","ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Succeed"}}},"Next":"T"},"T":{"Type":"Map","Label":"L","ItemProcessor":{"StartAt":"B","States":{"B":{"Type":"Succeed"}}},"End":true}`), Standard, []string{
			"DUPLICATE_LABEL_NAME: Duplicate Label name: L at /States/T/Label"}},
		{"query language downgrade", `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`, Standard, []string{
			"SCHEMA_VALIDATION_FAILED: 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine at /States/S"}},
		{"jsonpath field in jsonata state", machine(`"S":{"Type":"Pass","QueryLanguage":"JSONata","InputPath":"$","End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage at /States/S"}},
		{"jsonata field in jsonpath state", machine(`"S":{"Type":"Pass","Output":{},"End":true}`), Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage at /States/S"}},
		{"bad query language", `{"QueryLanguage":"XPath","StartAt":"S","States":{"S":{"Type":"Succeed"}}}`, Standard, []string{
			"SCHEMA_VALIDATION_FAILED: The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata] at /QueryLanguage"}},
		{"jsonata mixed allowed", `{"StartAt":"M","QueryLanguage":"JSONPath","States":{"M":{"Type":"Map","QueryLanguage":"JSONata","ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"P","States":{"P":{"QueryLanguage":"JSONPath","Type":"Pass","End":true}}},"End":true}}}`, Standard, nil},
		{"missing targets and unreachable", `{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}`, Standard, []string{
			"MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next",
			`MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at /States/pass2`}},
		{"missing start", `{"StartAt":"X","States":{"S":{"Type":"Succeed"}}}`, Standard, []string{
			"MISSING_TRANSITION_TARGET: Missing 'Next' target: X at /StartAt",
			`MISSING_TRANSITION_TARGET: State "S" is not reachable. at /States/S`}},
		{"missing catch and default targets", machine(`"S":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"T"}],"Default":"D"},"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true}`), Standard, []string{
			"MISSING_TRANSITION_TARGET: Missing 'Next' target: D at /States/S/Default",
			"MISSING_TRANSITION_TARGET: Missing 'Next' target: C at /States/T/Catch[0]/Next"}},
		{"no terminal state", machine(`"S":{"Type":"Pass","Next":"T"},"T":{"Type":"Pass","Next":"S"}`), Standard, []string{
			"MISSING_END_STATE: Workflow has no terminal state at null"}},
		{"duplicate names across branches", machine(`"S":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}},{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}],"End":true}`), Standard, []string{
			"DUPLICATE_STATE_NAME: Duplicate State name: A at /States/S/Branches[1]/States/A"}},
		{"duplicate keys", `{"StartAt":"S","States":{"S":{"Type":"Succeed"},"S":{"Type":"Succeed"}}}`, Standard, []string{
			"DUPLICATE_STATE_NAME: Duplicate State name: S at /States/S"}},
		{"long state name", `{"StartAt":"` + strings.Repeat("x", 81) + `","States":{"` + strings.Repeat("x", 81) + `":{"Type":"Succeed"}}}`, Standard, []string{
			"INVALID_STATE_NAME: State name cannot be longer than 80 characters at /States/" + strings.Repeat("x", 81)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.def), ParseOptions{Type: tc.typ})
			var got []string
			var de *DefinitionError
			if errors.As(err, &de) {
				for _, d := range de.Diagnostics {
					got = append(got, d.String())
				}
			} else if err != nil {
				t.Fatalf("unexpected error type: %v", err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("diagnostics\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDefinitionErrorMessage(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}`), ParseOptions{})
	want := `Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at /States/pass2'`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestJavaSetOrder(t *testing.T) {
	if got := javaSetOrder([]string{"StartAt", "States"}); strings.Join(got, ",") != "States,StartAt" {
		t.Errorf("got %v", got)
	}
}
