package teststate

import (
	"errors"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

func TestValidateMock(t *testing.T) {
	const start = "arn:aws:states:::states:startExecution"
	for _, tc := range []struct {
		name, resource, mode, result, want string
	}{
		{"valid", start, "", `{"ExecutionArn":"a","StartDate":"d"}`, ""},
		{"required", start, "", `{"executionArn":"a"}`, "Required field 'ExecutionArn' is missing"},
		{"required, present only", start, modePresent, `{}`, ""},
		{"type", start, modePresent, `{"StartDate":true}`, "Field 'StartDate' must be a string"},
		{"none", start, modeNone, `{"StartDate":true}`, ""},
		{"unknown fields pass", "arn:aws:states:::events:putEvents", "", `{"random":"json"}`, ""},
		{"list element", "arn:aws:states:::events:putEvents", "", `{"Entries":[{"EventId":"a"},{"EventId":[]}]}`, "Field 'EventId' must be a string"},
		{"nested minimum", "arn:aws:states:::aws-sdk:lambda:getFunction", "", `{"Configuration":{"MemorySize":127}}`, "Field 'MemorySize' is less than the minimum value"},
		{"enum", "arn:aws:states:::aws-sdk:s3:getObject", "", `{"StorageClass":"Papyrus"}`, "Field 'StorageClass' is not an expected value"},
		{"minimum length", "arn:aws:states:::aws-sdk:kms:encrypt", "", `{"CiphertextBlob":""}`, "Field 'CiphertextBlob' is smaller than the minimum length"},
		{"unknown integration", "arn:aws:states:::glue:startJobRun", "", `{"JobRunId":1}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := jsonv.ParseString(tc.result)
			if err != nil {
				t.Fatal(err)
			}
			err = validateMock(tc.resource, tc.mode, v)
			var te *Error
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.want != "" && (!errors.As(err, &te) || te.Message != "Mock result schema validation error: "+tc.want):
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}
