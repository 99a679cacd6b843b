package engine

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/history"
)

// The metrics CloudWatch keeps for Step Functions (namespace AWS/States), with Prometheus's
// names: stepline_states_ followed by AWS's name in snake case, _total for counters
// (ExecutionsStarted is stepline_states_executions_started_total), and ExecutionTime a
// histogram in seconds rather than AWS's milliseconds. Every series is labelled by
// state_machine_arn, including the Lambda, activity and service integration ones that AWS
// keys by the resource, so that one label bounds them all: the first MaxStateMachineLabels
// state machines a node sees get a label each, and the rest are summed under "other".
//
// ExecutionThrottled is always 0: Stepline refuses no StartExecution for its rate.

// MaxStateMachineLabels bounds the state machines labelled in the AWS/States metrics.
const MaxStateMachineLabels = 100

// otherMachines is the label of the state machines past MaxStateMachineLabels.
const otherMachines = "other"

// awsCounter numbers the counters of awsMetrics.
type awsCounter int

const (
	cExecutionsStarted awsCounter = iota
	cExecutionsSucceeded
	cExecutionsFailed
	cExecutionsTimedOut
	cExecutionsAborted
	cExecutionsRedriven
	cActivitiesScheduled
	cActivitiesStarted
	cActivitiesSucceeded
	cActivitiesFailed
	cActivitiesTimedOut
	cActivitiesHeartbeatTimedOut
	cLambdaFunctionsScheduled
	cLambdaFunctionsStarted
	cLambdaFunctionsSucceeded
	cLambdaFunctionsFailed
	cLambdaFunctionsTimedOut
	cServiceIntegrationsScheduled
	cServiceIntegrationsStarted
	cServiceIntegrationsSucceeded
	cServiceIntegrationsFailed
	cServiceIntegrationsTimedOut
	nCounters
)

// awsCounters names each counter: AWS's name and the Prometheus one.
var awsCounters = [nCounters]struct{ aws, prom string }{
	cExecutionsStarted:            {"ExecutionsStarted", "executions_started"},
	cExecutionsSucceeded:          {"ExecutionsSucceeded", "executions_succeeded"},
	cExecutionsFailed:             {"ExecutionsFailed", "executions_failed"},
	cExecutionsTimedOut:           {"ExecutionsTimedOut", "executions_timed_out"},
	cExecutionsAborted:            {"ExecutionsAborted", "executions_aborted"},
	cExecutionsRedriven:           {"ExecutionsRedriven", "executions_redriven"},
	cActivitiesScheduled:          {"ActivitiesScheduled", "activities_scheduled"},
	cActivitiesStarted:            {"ActivitiesStarted", "activities_started"},
	cActivitiesSucceeded:          {"ActivitiesSucceeded", "activities_succeeded"},
	cActivitiesFailed:             {"ActivitiesFailed", "activities_failed"},
	cActivitiesTimedOut:           {"ActivitiesTimedOut", "activities_timed_out"},
	cActivitiesHeartbeatTimedOut:  {"ActivitiesHeartbeatTimedOut", "activities_heartbeat_timed_out"},
	cLambdaFunctionsScheduled:     {"LambdaFunctionsScheduled", "lambda_functions_scheduled"},
	cLambdaFunctionsStarted:       {"LambdaFunctionsStarted", "lambda_functions_started"},
	cLambdaFunctionsSucceeded:     {"LambdaFunctionsSucceeded", "lambda_functions_succeeded"},
	cLambdaFunctionsFailed:        {"LambdaFunctionsFailed", "lambda_functions_failed"},
	cLambdaFunctionsTimedOut:      {"LambdaFunctionsTimedOut", "lambda_functions_timed_out"},
	cServiceIntegrationsScheduled: {"ServiceIntegrationsScheduled", "service_integrations_scheduled"},
	cServiceIntegrationsStarted:   {"ServiceIntegrationsStarted", "service_integrations_started"},
	cServiceIntegrationsSucceeded: {"ServiceIntegrationsSucceeded", "service_integrations_succeeded"},
	cServiceIntegrationsFailed:    {"ServiceIntegrationsFailed", "service_integrations_failed"},
	cServiceIntegrationsTimedOut:  {"ServiceIntegrationsTimedOut", "service_integrations_timed_out"},
}

// eventCounters maps a history event type to the counter it adds to (ActivityTimedOut is
// decided by its error, see count).
var eventCounters = map[string]awsCounter{
	"ExecutionSucceeded":           cExecutionsSucceeded,
	"ExecutionFailed":              cExecutionsFailed,
	"ExecutionTimedOut":            cExecutionsTimedOut,
	"ExecutionAborted":             cExecutionsAborted,
	"ExecutionRedriven":            cExecutionsRedriven,
	"ActivityScheduled":            cActivitiesScheduled,
	"ActivityStarted":              cActivitiesStarted,
	"ActivitySucceeded":            cActivitiesSucceeded,
	"ActivityFailed":               cActivitiesFailed,
	"ActivityScheduleFailed":       cActivitiesFailed,
	"ActivityTimedOut":             cActivitiesTimedOut,
	"LambdaFunctionScheduled":      cLambdaFunctionsScheduled,
	"LambdaFunctionStarted":        cLambdaFunctionsStarted,
	"LambdaFunctionSucceeded":      cLambdaFunctionsSucceeded,
	"LambdaFunctionFailed":         cLambdaFunctionsFailed,
	"LambdaFunctionScheduleFailed": cLambdaFunctionsFailed,
	"LambdaFunctionStartFailed":    cLambdaFunctionsFailed,
	"LambdaFunctionTimedOut":       cLambdaFunctionsTimedOut,
	"TaskScheduled":                cServiceIntegrationsScheduled,
	"TaskStarted":                  cServiceIntegrationsStarted,
	"TaskSucceeded":                cServiceIntegrationsSucceeded,
	"TaskFailed":                   cServiceIntegrationsFailed,
	"TaskStartFailed":              cServiceIntegrationsFailed,
	"TaskSubmitFailed":             cServiceIntegrationsFailed,
	"TaskTimedOut":                 cServiceIntegrationsTimedOut,
}

// awsMetrics are one state machine's AWS/States metrics.
type awsMetrics struct {
	counts        [nCounters]int64
	executionTime *histogram
}

// machineMetrics holds awsMetrics by state machine ARN, at most max of them besides "other".
type machineMetrics struct {
	mu  sync.Mutex
	max int
	by  map[string]*awsMetrics
}

// get returns the metrics of a state machine; the caller holds mu.
func (mm *machineMetrics) get(arn string) *awsMetrics {
	if a := mm.by[arn]; a != nil {
		return a
	}
	if len(mm.by) >= mm.max {
		arn = otherMachines
		if a := mm.by[arn]; a != nil {
			return a
		}
	}
	a := &awsMetrics{executionTime: newHistogram(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 86400)}
	mm.by[arn] = a
	return a
}

func (mm *machineMetrics) started(arn string) {
	mm.mu.Lock()
	mm.get(arn).counts[cExecutionsStarted]++
	mm.mu.Unlock()
}

// count adds the events of one committed step of an execution of stateMachine, which started at
// start, to its counters.
func (mm *machineMetrics) count(stateMachine string, start time.Time, events []history.Event) {
	var a *awsMetrics
	for i := range events {
		ev := &events[i]
		c, ok := eventCounters[ev.Type]
		if !ok {
			continue
		}
		if c == cActivitiesTimedOut && ev.Details.Error != nil && *ev.Details.Error == "States.HeartbeatTimeout" {
			c = cActivitiesHeartbeatTimedOut
		}
		if a == nil {
			mm.mu.Lock()
			defer mm.mu.Unlock()
			a = mm.get(stateMachine)
		}
		a.counts[c]++
		switch c {
		case cExecutionsSucceeded, cExecutionsFailed, cExecutionsTimedOut, cExecutionsAborted:
			a.executionTime.observe(ev.Timestamp.Sub(start).Seconds())
		}
	}
}

// write writes the AWS/States metrics in Prometheus's text format.
func (mm *machineMetrics) write(b *strings.Builder) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	arns := make([]string, 0, len(mm.by))
	for arn := range mm.by {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	for c := range nCounters {
		name := "stepline_states_" + awsCounters[c].prom + "_total"
		fmt.Fprintf(b, "# HELP %s AWS/States %s, by state machine.\n# TYPE %s counter\n", name, awsCounters[c].aws, name)
		for _, arn := range arns {
			fmt.Fprintf(b, "%s{state_machine_arn=%q} %d\n", name, arn, mm.by[arn].counts[c])
		}
	}
	b.WriteString("# HELP stepline_states_execution_throttled_total AWS/States ExecutionThrottled: always 0, Stepline throttles no execution.\n" +
		"# TYPE stepline_states_execution_throttled_total counter\nstepline_states_execution_throttled_total 0\n")
	const name = "stepline_states_execution_time_seconds"
	fmt.Fprintf(b, "# HELP %s AWS/States ExecutionTime (in seconds), by state machine.\n# TYPE %s histogram\n", name, name)
	for _, arn := range arns {
		h := mm.by[arn].executionTime
		h.mu.Lock()
		var cum uint64
		for i, bound := range h.bounds {
			cum += h.counts[i]
			fmt.Fprintf(b, "%s_bucket{state_machine_arn=%q,le=\"%g\"} %d\n", name, arn, bound, cum)
		}
		cum += h.counts[len(h.bounds)]
		fmt.Fprintf(b, "%s_bucket{state_machine_arn=%q,le=\"+Inf\"} %d\n%s_sum{state_machine_arn=%q} %g\n%s_count{state_machine_arn=%q} %d\n",
			name, arn, cum, name, arn, h.sum, name, arn, h.n)
		h.mu.Unlock()
	}
}
