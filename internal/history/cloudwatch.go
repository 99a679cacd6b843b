package history

import (
	"strconv"

	"github.com/stepline/stepline/internal/jsonv"
)

// AppendLogJSON appends the event as Step Functions writes it to CloudWatch Logs for a state
// machine's loggingConfiguration: one JSON object a log event, whose keys are snake_case and
// whose numbers are strings, unlike GetExecutionHistory's:
//
//	{"id":"2","type":"PassStateEntered","details":{…},"previous_event_id":"0",
//	 "event_timestamp":"1718026743123","execution_arn":"arn:…","redrive_count":"0"}
//
// details is the event's …EventDetails object ({} when the type has none); with includeData
// false inputs, outputs and task parameters are left out, as for GetExecutionHistory.
func (e *Event) AppendLogJSON(buf []byte, executionArn string, redriveCount int64, includeData bool) []byte {
	buf = append(buf, `{"id":"`...)
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, `","type":`...)
	buf = jsonv.AppendString(buf, e.Type)
	buf = append(buf, `,"details":`...)
	if f := familyOf(e.Type); f != famNone {
		buf = e.Details.appendJSON(buf, f, includeData)
	} else {
		buf = append(buf, "{}"...)
	}
	buf = append(buf, `,"previous_event_id":"`...)
	buf = strconv.AppendInt(buf, e.PreviousEventID, 10)
	buf = append(buf, `","event_timestamp":"`...)
	buf = strconv.AppendInt(buf, e.Timestamp.UnixMilli(), 10)
	buf = append(buf, `","execution_arn":`...)
	buf = jsonv.AppendString(buf, executionArn)
	buf = append(buf, `,"redrive_count":"`...)
	buf = strconv.AppendInt(buf, redriveCount, 10)
	return append(buf, `"}`...)
}

// The log levels of a loggingConfiguration.
const (
	LogAll   = "ALL"
	LogError = "ERROR"
	LogFatal = "FATAL"
	LogOff   = "OFF"
)

// fatalTypes are the events FATAL logs: how an execution ended badly.
var fatalTypes = map[string]bool{
	"ExecutionAborted": true, "ExecutionFailed": true, "ExecutionTimedOut": true,
}

// errorTypes are the events ERROR logs: Step Functions' table of log levels
// (https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html), plus the
// failures of types that table leaves out but that are errors of the same kind (activities,
// Map Runs, evaluation failures).
var errorTypes = map[string]bool{
	"ExecutionAborted": true, "ExecutionFailed": true, "ExecutionTimedOut": true,
	"FailStateEntered":     true,
	"LambdaFunctionFailed": true, "LambdaFunctionScheduleFailed": true, "LambdaFunctionStartFailed": true, "LambdaFunctionTimedOut": true,
	"MapIterationAborted": true, "MapIterationFailed": true, "MapStateAborted": true, "MapStateFailed": true,
	"MapRunAborted": true, "MapRunFailed": true,
	"ParallelStateAborted": true, "ParallelStateFailed": true,
	"TaskFailed": true, "TaskStartFailed": true, "TaskStateAborted": true, "TaskSubmitFailed": true, "TaskTimedOut": true,
	"WaitStateAborted": true,
	"ActivityFailed":   true, "ActivityScheduleFailed": true, "ActivityTimedOut": true,
	"EvaluationFailed": true,
}

// Logged reports whether a loggingConfiguration of the given level logs events of type typ.
func Logged(level, typ string) bool {
	switch level {
	case LogAll:
		return true
	case LogError:
		return errorTypes[typ]
	case LogFatal:
		return fatalTypes[typ]
	}
	return false
}
