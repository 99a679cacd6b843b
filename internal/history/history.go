// Package history defines execution history events as GetExecutionHistory returns them and
// encodes them in AWS's JSON shape.
//
// One Details struct serves every event type: which of its fields an event carries, and under
// which "…EventDetails" key, follows from the event's type (see families). That keeps event
// construction in the interpreter cheap and the JSON exact.
package history

import (
	"strconv"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// Event is one history event.
type Event struct {
	ID              int64
	PreviousEventID int64
	Timestamp       time.Time
	Type            string
	Details         Details
}

// Details holds the fields of an event's details object. Strings holding JSON (Input, Output,
// Parameters) are JSON text, as AWS returns them. Pointer fields are omitted when nil.
type Details struct {
	Name               string // state or Map iteration name
	Input              *string
	Output             *string
	Error              *string
	Cause              *string
	RoleArn            string
	Resource           string
	ResourceType       string
	Region             string
	Parameters         *string
	TimeoutInSeconds   *int64
	HeartbeatInSeconds *int64
	Length             *int64 // MapStateStarted
	Index              *int64 // MapIteration*
	MapRunArn          string
	Location           string // EvaluationFailed
	State              string // EvaluationFailed
	WorkerName         string
	RedriveCount       *int64
	// AssignedVariables maps each assigned variable to its JSON text, in assignment order.
	AssignedVariables      []Assigned
	StateMachineAliasArn   string
	StateMachineVersionArn string
	// TaskCredentials is the RoleArn a Task state assumed, when it set Credentials.
	TaskCredentials string
}

// Assigned is one variable assignment recorded in a StateExited event.
type Assigned struct {
	Name  string
	Value string // JSON text
}

type family uint8

const (
	famNone family = iota
	famExecutionStarted
	famExecutionSucceeded
	famExecutionFailed
	famExecutionAborted
	famExecutionTimedOut
	famExecutionRedriven
	famStateEntered
	famStateExited
	famTaskScheduled
	famTaskStarted
	famTaskSubmitted
	famTaskSucceeded
	famTaskFailed
	famTaskStartFailed
	famTaskSubmitFailed
	famTaskTimedOut
	famActivityScheduled
	famActivityStarted
	famActivitySucceeded
	famActivityFailed
	famActivityScheduleFailed
	famActivityTimedOut
	famLambdaScheduled
	famLambdaSucceeded
	famLambdaFailed
	famLambdaScheduleFailed
	famLambdaStartFailed
	famLambdaTimedOut
	famMapStateStarted
	famMapIterationStarted
	famMapIterationSucceeded
	famMapIterationFailed
	famMapIterationAborted
	famMapRunStarted
	famMapRunFailed
	famMapRunRedriven
	famEvaluationFailed
)

var familyKeys = [...]string{
	famExecutionStarted:       "executionStartedEventDetails",
	famExecutionSucceeded:     "executionSucceededEventDetails",
	famExecutionFailed:        "executionFailedEventDetails",
	famExecutionAborted:       "executionAbortedEventDetails",
	famExecutionTimedOut:      "executionTimedOutEventDetails",
	famExecutionRedriven:      "executionRedrivenEventDetails",
	famStateEntered:           "stateEnteredEventDetails",
	famStateExited:            "stateExitedEventDetails",
	famTaskScheduled:          "taskScheduledEventDetails",
	famTaskStarted:            "taskStartedEventDetails",
	famTaskSubmitted:          "taskSubmittedEventDetails",
	famTaskSucceeded:          "taskSucceededEventDetails",
	famTaskFailed:             "taskFailedEventDetails",
	famTaskStartFailed:        "taskStartFailedEventDetails",
	famTaskSubmitFailed:       "taskSubmitFailedEventDetails",
	famTaskTimedOut:           "taskTimedOutEventDetails",
	famActivityScheduled:      "activityScheduledEventDetails",
	famActivityStarted:        "activityStartedEventDetails",
	famActivitySucceeded:      "activitySucceededEventDetails",
	famActivityFailed:         "activityFailedEventDetails",
	famActivityScheduleFailed: "activityScheduleFailedEventDetails",
	famActivityTimedOut:       "activityTimedOutEventDetails",
	famLambdaScheduled:        "lambdaFunctionScheduledEventDetails",
	famLambdaSucceeded:        "lambdaFunctionSucceededEventDetails",
	famLambdaFailed:           "lambdaFunctionFailedEventDetails",
	famLambdaScheduleFailed:   "lambdaFunctionScheduleFailedEventDetails",
	famLambdaStartFailed:      "lambdaFunctionStartFailedEventDetails",
	famLambdaTimedOut:         "lambdaFunctionTimedOutEventDetails",
	famMapStateStarted:        "mapStateStartedEventDetails",
	famMapIterationStarted:    "mapIterationStartedEventDetails",
	famMapIterationSucceeded:  "mapIterationSucceededEventDetails",
	famMapIterationFailed:     "mapIterationFailedEventDetails",
	famMapIterationAborted:    "mapIterationAbortedEventDetails",
	famMapRunStarted:          "mapRunStartedEventDetails",
	famMapRunFailed:           "mapRunFailedEventDetails",
	famMapRunRedriven:         "mapRunRedrivenEventDetails",
	famEvaluationFailed:       "evaluationFailedEventDetails",
}

var exactFamilies = map[string]family{
	"ExecutionStarted":             famExecutionStarted,
	"ExecutionSucceeded":           famExecutionSucceeded,
	"ExecutionFailed":              famExecutionFailed,
	"ExecutionAborted":             famExecutionAborted,
	"ExecutionTimedOut":            famExecutionTimedOut,
	"ExecutionRedriven":            famExecutionRedriven,
	"TaskScheduled":                famTaskScheduled,
	"TaskStarted":                  famTaskStarted,
	"TaskSubmitted":                famTaskSubmitted,
	"TaskSucceeded":                famTaskSucceeded,
	"TaskFailed":                   famTaskFailed,
	"TaskStartFailed":              famTaskStartFailed,
	"TaskSubmitFailed":             famTaskSubmitFailed,
	"TaskTimedOut":                 famTaskTimedOut,
	"ActivityScheduled":            famActivityScheduled,
	"ActivityStarted":              famActivityStarted,
	"ActivitySucceeded":            famActivitySucceeded,
	"ActivityFailed":               famActivityFailed,
	"ActivityScheduleFailed":       famActivityScheduleFailed,
	"ActivityTimedOut":             famActivityTimedOut,
	"LambdaFunctionScheduled":      famLambdaScheduled,
	"LambdaFunctionSucceeded":      famLambdaSucceeded,
	"LambdaFunctionFailed":         famLambdaFailed,
	"LambdaFunctionScheduleFailed": famLambdaScheduleFailed,
	"LambdaFunctionStartFailed":    famLambdaStartFailed,
	"LambdaFunctionTimedOut":       famLambdaTimedOut,
	"MapStateStarted":              famMapStateStarted,
	"MapIterationStarted":          famMapIterationStarted,
	"MapIterationSucceeded":        famMapIterationSucceeded,
	"MapIterationFailed":           famMapIterationFailed,
	"MapIterationAborted":          famMapIterationAborted,
	"MapRunStarted":                famMapRunStarted,
	"MapRunFailed":                 famMapRunFailed,
	"MapRunRedriven":               famMapRunRedriven,
	"EvaluationFailed":             famEvaluationFailed,
}

func familyOf(typ string) family {
	if f, ok := exactFamilies[typ]; ok {
		return f
	}
	// PassStateEntered, TaskStateExited, …: the family is named after entering or exiting, not
	// after the state type.
	switch {
	case len(typ) > len("StateEntered") && typ[len(typ)-len("StateEntered"):] == "StateEntered":
		return famStateEntered
	case len(typ) > len("StateExited") && typ[len(typ)-len("StateExited"):] == "StateExited":
		return famStateExited
	}
	return famNone
}

// Time encodes t as AWS's JSON 1.0 protocol does: epoch seconds with millisecond precision.
func appendTime(buf []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	buf = strconv.AppendInt(buf, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		buf = append(buf, '.')
		s := strconv.FormatInt(1000+frac, 10)[1:]
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		buf = append(buf, s...)
	}
	return buf
}

// AppendJSON appends the event as one element of GetExecutionHistory's "events" array.
// With includeData false, inputs, outputs and task parameters are left out, as AWS does for
// includeExecutionData=false.
func (e *Event) AppendJSON(buf []byte, includeData bool) []byte {
	buf = append(buf, `{"timestamp":`...)
	buf = appendTime(buf, e.Timestamp)
	buf = append(buf, `,"type":`...)
	buf = jsonv.AppendString(buf, e.Type)
	buf = append(buf, `,"id":`...)
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, `,"previousEventId":`...)
	buf = strconv.AppendInt(buf, e.PreviousEventID, 10)
	if f := familyOf(e.Type); f != famNone {
		buf = append(buf, ',')
		buf = jsonv.AppendString(buf, familyKeys[f])
		buf = append(buf, ':')
		buf = e.Details.appendJSON(buf, f, includeData)
	}
	return append(buf, '}')
}

type fields struct {
	buf   []byte
	first bool
}

func (w *fields) key(k string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = jsonv.AppendString(w.buf, k)
	w.buf = append(w.buf, ':')
}

func (w *fields) str(k, v string) {
	if v != "" {
		w.key(k)
		w.buf = jsonv.AppendString(w.buf, v)
	}
}

func (w *fields) optStr(k string, v *string) {
	if v != nil {
		w.key(k)
		w.buf = jsonv.AppendString(w.buf, *v)
	}
}

func (w *fields) optInt(k string, v *int64) {
	if v != nil {
		w.key(k)
		w.buf = strconv.AppendInt(w.buf, *v, 10)
	}
}

// data writes a payload with its "…Details": {"truncated": false} companion.
func (w *fields) data(k string, v *string, include bool) {
	if v == nil || !include {
		return
	}
	w.key(k)
	w.buf = jsonv.AppendString(w.buf, *v)
	w.key(k + "Details")
	w.buf = append(w.buf, `{"truncated":false}`...)
}

func (d *Details) appendJSON(buf []byte, f family, include bool) []byte {
	w := fields{buf: append(buf, '{'), first: true}
	switch f {
	case famExecutionStarted:
		w.data("input", d.Input, include)
		w.str("roleArn", d.RoleArn)
		w.str("stateMachineAliasArn", d.StateMachineAliasArn)
		w.str("stateMachineVersionArn", d.StateMachineVersionArn)
	case famExecutionSucceeded, famActivitySucceeded, famLambdaSucceeded:
		w.data("output", d.Output, include)
	case famStateEntered:
		w.str("name", d.Name)
		w.data("input", d.Input, include)
	case famStateExited:
		w.str("name", d.Name)
		w.data("output", d.Output, include)
		if len(d.AssignedVariables) > 0 {
			w.key("assignedVariables")
			w.buf = append(w.buf, '{')
			for i, a := range d.AssignedVariables {
				if i > 0 {
					w.buf = append(w.buf, ',')
				}
				w.buf = jsonv.AppendString(w.buf, a.Name)
				w.buf = append(w.buf, ':')
				w.buf = jsonv.AppendString(w.buf, a.Value)
			}
			w.buf = append(w.buf, '}')
			w.key("assignedVariablesDetails")
			w.buf = append(w.buf, `{"truncated":false}`...)
		}
	case famExecutionRedriven:
		w.optInt("redriveCount", d.RedriveCount)
	case famMapRunRedriven:
		w.str("mapRunArn", d.MapRunArn)
		w.optInt("redriveCount", d.RedriveCount)
	case famTaskScheduled:
		w.str("resourceType", d.ResourceType)
		w.str("resource", d.Resource)
		w.str("region", d.Region)
		if include {
			w.optStr("parameters", d.Parameters)
		}
		w.optInt("timeoutInSeconds", d.TimeoutInSeconds)
		w.optInt("heartbeatInSeconds", d.HeartbeatInSeconds)
		if d.TaskCredentials != "" {
			w.key("taskCredentials")
			w.buf = append(w.buf, `{"roleArn":`...)
			w.buf = jsonv.AppendString(w.buf, d.TaskCredentials)
			w.buf = append(w.buf, '}')
		}
	case famTaskStarted:
		w.str("resourceType", d.ResourceType)
		w.str("resource", d.Resource)
	case famTaskSubmitted, famTaskSucceeded:
		w.str("resourceType", d.ResourceType)
		w.str("resource", d.Resource)
		w.data("output", d.Output, include)
	case famTaskFailed, famTaskStartFailed, famTaskSubmitFailed, famTaskTimedOut:
		w.str("resourceType", d.ResourceType)
		w.str("resource", d.Resource)
		w.optStr("error", d.Error)
		w.optStr("cause", d.Cause)
	case famActivityScheduled, famLambdaScheduled:
		w.str("resource", d.Resource)
		w.data("input", d.Input, include)
		w.optInt("timeoutInSeconds", d.TimeoutInSeconds)
		w.optInt("heartbeatInSeconds", d.HeartbeatInSeconds)
	case famActivityStarted:
		w.str("workerName", d.WorkerName)
	case famExecutionFailed, famExecutionAborted, famExecutionTimedOut, famActivityFailed,
		famActivityScheduleFailed, famActivityTimedOut, famLambdaFailed, famLambdaScheduleFailed,
		famLambdaStartFailed, famLambdaTimedOut, famMapRunFailed:
		w.optStr("error", d.Error)
		w.optStr("cause", d.Cause)
	case famMapStateStarted:
		w.optInt("length", d.Length)
	case famMapIterationStarted, famMapIterationSucceeded, famMapIterationFailed, famMapIterationAborted:
		w.str("name", d.Name)
		w.optInt("index", d.Index)
	case famMapRunStarted:
		w.str("mapRunArn", d.MapRunArn)
	case famEvaluationFailed:
		w.optStr("error", d.Error)
		w.optStr("cause", d.Cause)
		w.str("location", d.Location)
		w.str("state", d.State)
	}
	return append(w.buf, '}')
}

// AppendEvents appends events as a JSON array.
func AppendEvents(buf []byte, events []Event, includeData bool) []byte {
	buf = append(buf, '[')
	for i := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = events[i].AppendJSON(buf, includeData)
	}
	return append(buf, ']')
}
