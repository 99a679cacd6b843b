package server_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// TestJSONataMemoryBound runs the expressions of issue 16 on a server: each fails its execution
// with States.QueryEvaluationError and a cause naming the memory limit, and the server still
// answers /healthz and runs an execution afterwards. A server given Options.JSONataMemory
// applies that budget instead of the default.
func TestJSONataMemoryBound(t *testing.T) {
	t.Parallel()
	x56 := `'` + strings.Repeat("x", 56) + `'`
	for _, tc := range []struct {
		name, expr string
		memory     int64
		limit      string
	}{
		{"pad over two million", `$count($map([1..2000000], function($v){ $pad('x', 1000) }))`, 0,
			"Expression evaluation memory limit exceeded: Check for values growing without bound (the limit is 128 MiB)"},
		{"pad over ten million", `$count($map([1..9999999], function($v){ $pad('x', 1000) }))`, 0,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 9999999 items, more than the limit of 128 MiB allows"},
		{"join of nine million", `$length($join($map([1..9000000], function($v){ ` + x56 + ` })))`, 0,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 9000000 items, more than the limit of 128 MiB allows"},
		{"a server's own budget", `[1..100000][-1]`, 1 << 20,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 100000 items, more than the limit of 1 MiB allows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, server.Options{JSONataMemory: tc.memory})
			def := `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":` +
				strconv.Quote("{% "+tc.expr+" %}") + `,"End":true}}}`
			out := b.waitDone(t, b.start(t, b.createMachine(t, "bounded", def), "", `{}`))
			cause := "An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression '" +
				tc.expr + "' specified for the field 'Output' threw an error during evaluation. U1001: " + tc.limit
			if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "States.QueryEvaluationError" || aws.ToString(out.Cause) != cause {
				t.Errorf("%s %s: %s\nwant FAILED States.QueryEvaluationError: %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause), cause)
			}
			resp, err := http.Get(b.url + "/healthz")
			if err != nil {
				t.Fatalf("/healthz: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
				t.Fatalf("/healthz = %d %q", resp.StatusCode, body)
			}
			after := b.waitDone(t, b.start(t, b.createMachine(t, "after", passChain), "", `{}`))
			if after.Status != types.ExecutionStatusSucceeded {
				t.Errorf("execution after the bound: %s", after.Status)
			}
		})
	}
}
