package conformance

import (
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// Skip reasons name what is missing (and the issue tracking it), so that the report's list of
// reasons doubles as a to-do list.
const (
	ReasonRunning       = "recorded while RUNNING: no outcome to compare"
	ReasonStopExecution = "needs StopExecution while the execution runs"
	// ReasonTestStateService: TestState without a mock calls the state's service, and
	// Stepline's TestState calls none yet, even those it serves to executions.
	ReasonTestStateService = "TestState without a mock: calling the service from TestState is not built"
)

// SkipReason returns why c cannot be run yet, or "" when it can. A case that cannot even be
// loaded is not skipped: it fails, so that a broken corpus shows.
func SkipReason(c *Case) string {
	if c.LoadErr != nil {
		return ""
	}
	testState := c.Kind == KindTestState || c.Kind == KindInvalidDefinition && c.ctx("api") == "TestState"
	switch {
	case testState && mocked(c):
		// A mock stands in for the service.
		return ""
	case testState && len(c.Requires) > 0 && servedAll(c.Requires):
		return ReasonTestStateService
	case len(c.Requires) > 0 && !servedAll(c.Requires):
		// The exact set, because a case runs only once every service it needs is emulated.
		req := slices.Clone(c.Requires)
		slices.Sort(req)
		return "requires " + strings.Join(req, ", ")
	case c.Kind == KindExecution && str(c.Expect, "status") == "RUNNING":
		return ReasonRunning
	case c.Kind == KindExecution && stopsExecution(c):
		return ReasonStopExecution
	}
	return ""
}

// served are the services whose cases run: Stepline serves them to the execution.
var served = []string{"events", "lambda", "s3", "states"}

func servedAll(requires []string) bool {
	for _, r := range requires {
		if !slices.Contains(served, r) {
			return false
		}
	}
	return true
}

// stopsExecution reports whether the test called StopExecution on a Standard execution. AWS
// refuses StopExecution of an Express execution ("not supported by EXPRESS state machines"),
// so such a call left the execution as it was.
func stopsExecution(c *Case) bool {
	calls, _ := get(c.Context, "other_api_calls_by_test").([]jsonv.Value)
	return slices.ContainsFunc(calls, func(call jsonv.Value) bool {
		o, _ := call.(*jsonv.Object)
		args, _ := get(o, "args").(*jsonv.Object)
		return str(o, "op") == "stop_execution" && !strings.Contains(str(args, "executionArn"), ":express:")
	})
}

func mocked(c *Case) bool {
	args, _ := get(c.Context, "request_args").(*jsonv.Object)
	return args.Has("mock")
}
