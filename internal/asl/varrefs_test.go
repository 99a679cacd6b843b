package asl

import (
	"reflect"
	"testing"
)

// The expected references are AWS's, as LocalStack's snapshot
// (tests/aws/services/stepfunctions/v2/test_sfn_api_variable_references.snapshot.json,
// MAP_STATE_REFERENCE_IN_MAX_ITEMS_PATH) recorded them: ReaderConfig's MaxItemsPath counts.
func TestVariableReferencesOfItemReader(t *testing.T) {
	def := `{"StartAt":"Start","States":{
		"Start":{"Type":"Pass","Assign":{"maxItems":"2"},"Next":"MapState"},
		"MapState":{"Type":"Map","MaxConcurrency":1,
			"ItemReader":{"ReaderConfig":{"InputType":"JSON","MaxItemsPath":"$maxItems"},"Resource":"arn:aws:states:::s3:getObject",
				"Parameters":{"Bucket.$":"$.Bucket","Key.$":"$.Key"}},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"PassItem",
				"States":{"PassItem":{"Type":"Pass","End":true}}},
			"End":true}}}`
	got := mustParse(t, def).VariableReferences()
	want := map[string][]string{"MapState": {"maxItems"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
