package interp

import (
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// TestOptions makes StartTest run one state the way the TestState API does: the state at the
// definition's StartAt runs once, and the run ends where that state would hand over to another
// (its Next, a catcher's Next, a retry), without waiting.
type TestOptions struct {
	// Variables are visible to the state as if earlier states had assigned them.
	Variables *jsonv.Object
	// Context, when set, is $$ for the state (TestState's context field, or the default the
	// caller builds): TestState has no execution to take it from.
	Context jsonv.Value
	// Mock, when set, replaces the work of a Task, Parallel or Map state.
	Mock *Mock
	// RetrierRetryCount is how many retries every retrier is taken to have made already
	// (TestState's stateConfiguration.retrierRetryCount).
	RetrierRetryCount int64
	// MapIterationFailureCount, when set, is how many iterations of a mocked Map failed.
	MapIterationFailureCount *int64
	// MapItems, when set, are the items a Map's ItemReader would have read.
	MapItems jsonv.Value
}

// Mock is the outcome a mocked state's work is given: a result, or an error when Failed.
type Mock struct {
	Result       jsonv.Value
	Failed       bool
	Error, Cause *string
}

// TestStatus is TestState's status of the state tested.
type TestStatus string

// The TestState statuses.
const (
	TestSucceeded   TestStatus = "SUCCEEDED"
	TestFailed      TestStatus = "FAILED"
	TestRetriable   TestStatus = "RETRIABLE"
	TestCaughtError TestStatus = "CAUGHT_ERROR"
)

// TestRecord is what StartTest saw of the state: its outcome and the values between the steps
// of its input/output pipeline, which TestState reports as inspection data.
type TestRecord struct {
	Status    TestStatus
	NextState string
	// Output is the state's output (also after a caught error); Error and Cause its error.
	Output       *string
	Error, Cause *string
	// Inspected holds the pipeline's values by AWS's inspectionData names, in the order taken.
	Inspected []Inspected
	// RetryIndex and RetryBackoff describe the retrier that would retry (RETRIABLE); CatchIndex
	// the catcher that caught (CAUGHT_ERROR).
	RetryIndex   *int
	RetryBackoff time.Duration
	CatchIndex   *int
}

// Inspected is one value of the pipeline, with its JSON text as a history would record it:
// the input's own text where the value is the input, unchanged.
type Inspected struct {
	Name  string
	Value jsonv.Value
	Text  string
}

type testRun struct {
	opts TestOptions
	rec  TestRecord
}

// StartTest runs the first state of def once, as TestState does, and reports it.
func StartTest(def *asl.StateMachine, id Identity, input string, now time.Time, opts TestOptions) (*TestRecord, error) {
	t := &testRun{opts: opts}
	x, _, err := start(def, id, input, now, t)
	if err != nil {
		return nil, err
	}
	rec := &t.rec
	switch {
	case x.Status == Succeeded && rec.Status == "":
		rec.Status = TestSucceeded
	case x.Status != Succeeded && rec.Status != TestRetriable:
		// Also a catcher that failed to shape the error output.
		rec.Status = TestFailed
	}
	if rec.Status == TestFailed || rec.Status == TestRetriable {
		rec.Error, rec.Cause = x.Error, x.Cause
	}
	return rec, nil
}

// tested returns the TestState run when th is the thread of the state under test; the children
// of a Parallel or Map run as usual.
func (r *run) tested(th *thread) *testRun {
	if r.x.test == nil || th.parent != nil {
		return nil
	}
	return r.x.test
}

// inspect records a value of the tested state's pipeline.
func (r *run) inspect(th *thread, name string, v jsonv.Value) {
	if t := r.tested(th); t != nil {
		t.rec.Inspected = append(t.rec.Inspected, Inspected{Name: name, Value: v, Text: *r.text(v)})
	}
}

// mocked carries out a mocked state's work with the mock's outcome; it reports false when the
// state's work is not mocked.
func (r *run) mocked(th *thread) bool {
	t := r.tested(th)
	if t == nil || t.opts.Mock == nil {
		return false
	}
	m := t.opts.Mock
	if m.Failed {
		r.stateFailed(th, failure{name: m.Error, cause: m.Cause})
		return true
	}
	if th.state.Type == asl.Task {
		r.inspect(th, "result", m.Result)
	}
	r.complete(th, m.Result, th.state.Assign, th.state.Output, th.state.Next)
	return true
}

// mockedMap ends a mocked Map once it has read its items and settings: the mock is its result,
// unless the iterations the test says failed exceed its tolerance.
func (r *run) mockedMap(th *thread, items int, maxConc, tolCount, tolPct float64) bool {
	t := r.tested(th)
	if t == nil || t.opts.Mock == nil {
		return false
	}
	r.inspect(th, "maxConcurrency", jsonv.Float(maxConc))
	if tolCount >= 0 {
		r.inspect(th, "toleratedFailureCount", jsonv.Float(tolCount))
	}
	if tolPct >= 0 {
		r.inspect(th, "toleratedFailurePercentage", jsonv.Float(tolPct))
	}
	if n := t.opts.MapIterationFailureCount; n != nil && *n > 0 && !t.opts.Mock.Failed {
		// Without a tolerance AWS reports the mock as the result: only a threshold fails it.
		exceeded := tolCount >= 0 && float64(*n) > tolCount ||
			tolPct >= 0 && items > 0 && float64(*n)*100/float64(items) > tolPct
		if exceeded {
			r.stateFailed(th, failure{name: ptr(sferr.ExceedToleratedFailureThreshold),
				cause: ptr("The specified tolerated failure threshold was exceeded")})
			return true
		}
	}
	return r.mocked(th)
}
