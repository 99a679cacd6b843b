package task

import (
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/engine"
)

// mocked answers a task of an execution run under a Step Functions Local mock test case. It
// reports false when the test case does not mock the task's state, which then calls its real
// integration, as Step Functions Local does.
//
// A mocked state never calls its service: Return is its result as it stands (for
// lambda:invoke, the whole Invoke response, Payload and StatusCode included), whatever the
// integration pattern (a mocked .waitForTaskToken or .sync task does not wait), and Throw
// fails it with the given error and cause, which Retry and Catch see as the service's. The
// history records the task as for a real call: scheduled, started, then succeeded or failed.
func (r *Runner) mocked(t *engine.Task) (string, bool, error) {
	tc := t.TestCase
	if r.o.Mocks == nil {
		// The execution was started under a test case by a server that had a mock
		// configuration; this one (after a restart, or another node) has none.
		return "", true, &engine.TaskError{Name: sferr.Runtime,
			Cause: "The execution runs under the mock test case " + tc.Name + " of state machine " + tc.StateMachine +
				", but no mock configuration is loaded (SFN_MOCK_CONFIG or --mock-config)"}
	}
	c, err := r.o.Mocks.TestCase(tc.StateMachine, tc.Name)
	if err != nil {
		return "", true, &engine.TaskError{Name: sferr.Runtime, Cause: "The mock configuration " + r.o.Mocks.File + " no longer defines the test case: " + err.Error()}
	}
	out, ok, err := c.Response(t.StateName, t.Invocation)
	switch {
	case !ok:
		return "", false, nil
	case err != nil:
		// Step Functions Local fails the execution when a mocked state has no response for an
		// invocation.
		return "", true, &engine.TaskError{Name: sferr.Runtime, Cause: err.Error()}
	case out.Throw != nil:
		return "", true, &engine.TaskError{Name: out.Throw.Error, Cause: out.Throw.Cause}
	}
	return out.Return, true, nil
}
