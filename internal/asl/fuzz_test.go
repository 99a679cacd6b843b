package asl

import (
	"errors"
	"testing"
)

// FuzzParse checks that no definition makes Parse panic, and that it either returns a machine or
// a DefinitionError with at least one diagnostic.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"a.$":"$.x","b":[{"c.$":"$$.Execution.Id"}]},"ResultPath":"$.r","End":true}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","NumericEquals":1},{"Not":{"Variable":"$.b","IsPresent":true}}],"Next":"W"}],"Default":"F"},"W":{"Type":"Wait","SecondsPath":"$.s","Next":"F"},"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('{}', $.c)"}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrencyPath":"$.mc","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2}],"End":true}}},"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}},"ToleratedFailurePercentage":5,"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}],"End":true}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $states.input %}","End":true}}}`,
		`{"StartAt":"S","States":{"S":{"Type":"Wait","Timestamp":"2016-03-14T01:59:00Z","Next":"S"},"S":{"Type":"Succeed"}}}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, def []byte) {
		for _, typ := range []MachineType{Standard, Express} {
			sm, err := Parse(def, ParseOptions{Type: typ})
			var de *DefinitionError
			switch {
			case err == nil && sm == nil:
				t.Fatal("nil machine without error")
			case err != nil && (!errors.As(err, &de) || len(de.Diagnostics) == 0):
				t.Fatalf("error without diagnostics: %v", err)
			case err != nil:
				_ = err.Error()
			}
		}
	})
}
