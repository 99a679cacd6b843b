package asl

import (
	"errors"
	"testing"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// TestJSONataMemoryOption checks that ParseOptions.JSONataMemory bounds the evaluations of the
// definition's expressions, and that a definition parsed without it has the default budget.
func TestJSONataMemoryOption(t *testing.T) {
	const def = `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% [1..100000][-1] %}","End":true}}}`
	for _, tc := range []struct {
		memory int64
		cause  string // "": evaluates
	}{
		{memory: 0},
		{memory: 1 << 20, cause: "The JSONata expression '[1..100000][-1]' specified for the field 'Output' threw an error during evaluation. " +
			"U1001: Expression evaluation memory limit exceeded: The range operator (..) would allocate 100000 items, more than the limit of 1 MiB allows"},
		{memory: -1},
	} {
		sm, err := Parse([]byte(def), ParseOptions{JSONataMemory: tc.memory})
		if err != nil {
			t.Fatal(err)
		}
		v, err := sm.States["S"].Output.Eval(jsonataScope(t))
		var se *sferr.Error
		switch {
		case tc.cause == "" && (err != nil || jsonv.String(v) != "100000"):
			t.Errorf("JSONataMemory %d: got %v, %v; want 100000", tc.memory, jsonv.String(v), err)
		case tc.cause != "" && (!errors.As(err, &se) || se.Name != sferr.QueryEvaluationError || se.Cause != tc.cause):
			t.Errorf("JSONataMemory %d: got %v\nwant %s: %s", tc.memory, err, sferr.QueryEvaluationError, tc.cause)
		}
	}
}
