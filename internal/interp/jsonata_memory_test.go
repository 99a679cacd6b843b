package interp_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/interp"
)

// TestJSONataMemoryLimit runs the expressions of issue 16 in a Pass state's Output: each fails
// the state with States.QueryEvaluationError and a cause naming the memory limit, where it used
// to hold the process for seconds to minutes and gigabytes.
func TestJSONataMemoryLimit(t *testing.T) {
	t.Parallel()
	const prefix = "An error occurred while executing the state 'P' (entered at the event id #2). "
	x56 := `'` + strings.Repeat("x", 56) + `'`
	for _, tc := range []struct{ name, expr, limit string }{
		{"pad over two million", `$count($map([1..2000000], function($v){ $pad('x', 1000) }))`,
			"Expression evaluation memory limit exceeded: Check for values growing without bound (the limit is 128 MiB)"},
		{"pad over ten million", `$count($map([1..9999999], function($v){ $pad('x', 1000) }))`,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 9999999 items, more than the limit of 128 MiB allows"},
		{"join of nine million", `$length($join($map([1..9000000], function($v){ ` + x56 + ` })))`,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 9000000 items, more than the limit of 128 MiB allows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			def := `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":` +
				strconv.Quote("{% "+tc.expr+" %}") + `,"End":true}}}`
			x, _ := drive(t, mustParse(t, def), `{}`, noTasks(t))
			cause := prefix + "The JSONata expression '" + tc.expr + "' specified for the field 'Output' threw an error during evaluation. U1001: " + tc.limit
			if x.Status != interp.Failed || deref(x.Error) != "States.QueryEvaluationError" || deref(x.Cause) != cause {
				t.Errorf("%s %s: %s\nwant FAILED States.QueryEvaluationError: %s", x.Status, deref(x.Error), deref(x.Cause), cause)
			}
		})
	}
}
