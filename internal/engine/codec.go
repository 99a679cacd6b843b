package engine

import (
	"encoding/json"
	"fmt"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// Inbox messages and outbox effects are stored as JSON so that a person reading the database
// can follow what happened.

// message is an interpreter event on its way through the inbox.
type message struct {
	Kind       string  `json:"kind"`
	TaskID     string  `json:"taskId,omitempty"`
	Output     string  `json:"output,omitempty"`
	Error      *string `json:"error,omitempty"`
	Cause      *string `json:"cause,omitempty"`
	WorkerName string  `json:"workerName,omitempty"`
	// MapRun is an UpdateMapRun's change.
	MapRun *mapRunUpdate `json:"mapRun,omitempty"`
	// Child is the Map Run child execution a stop is for (see interp.Stop).
	Child string `json:"child,omitempty"`
}

type mapRunUpdate struct {
	Arn                        string   `json:"arn"`
	MaxConcurrency             *int     `json:"maxConcurrency,omitempty"`
	ToleratedFailureCount      *int64   `json:"toleratedFailureCount,omitempty"`
	ToleratedFailurePercentage *float64 `json:"toleratedFailurePercentage,omitempty"`
}

const (
	msgTaskStarted   = "taskStarted"
	msgTaskSubmitted = "taskSubmitted"
	msgTaskSucceeded = "taskSucceeded"
	msgTaskFailed    = "taskFailed"
	msgTaskHeartbeat = "taskHeartbeat"
	msgStop          = "stop"
	msgUpdateMapRun  = "updateMapRun"
)

func encodeMessage(m message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		// A struct of strings always marshals.
		panic(fmt.Sprintf("engine: encoding an inbox message: %v", err))
	}
	return b
}

func decodeMessage(b []byte) (interp.Event, error) {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("engine: inbox message: %w", err)
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	switch m.Kind {
	case msgTaskStarted:
		return interp.TaskStarted{TaskID: m.TaskID, WorkerName: m.WorkerName}, nil
	case msgTaskSubmitted:
		return interp.TaskSubmitted{TaskID: m.TaskID, Output: m.Output}, nil
	case msgTaskSucceeded:
		return interp.TaskSucceeded{TaskID: m.TaskID, Output: m.Output}, nil
	case msgTaskFailed:
		return interp.TaskFailed{TaskID: m.TaskID, Error: deref(m.Error), Cause: deref(m.Cause)}, nil
	case msgTaskHeartbeat:
		return interp.TaskHeartbeat{TaskID: m.TaskID}, nil
	case msgStop:
		return interp.Stop{Error: m.Error, Cause: m.Cause, Child: m.Child}, nil
	case msgUpdateMapRun:
		if m.MapRun == nil {
			return nil, fmt.Errorf("engine: inbox message %q without its change", m.Kind)
		}
		u := m.MapRun
		return interp.UpdateMapRun{MapRunArn: u.Arn, MaxConcurrency: u.MaxConcurrency,
			ToleratedFailureCount: u.ToleratedFailureCount, ToleratedFailurePercentage: u.ToleratedFailurePercentage}, nil
	}
	return nil, fmt.Errorf("engine: inbox message of unknown kind %q", m.Kind)
}

// taskEffect is a ScheduleTask in the outbox.
type taskEffect struct {
	TaskID           string           `json:"taskId"`
	StateName        string           `json:"stateName"`
	Resource         string           `json:"resource"`
	Parameters       json.RawMessage  `json:"parameters"`
	TimeoutSeconds   int64            `json:"timeoutSeconds,omitempty"`
	HeartbeatSeconds int64            `json:"heartbeatSeconds,omitempty"`
	Token            string           `json:"token,omitempty"`
	TestCase         *interp.TestCase `json:"testCase,omitempty"`
	Invocation       int64            `json:"invocation,omitempty"`
	// TraceParent is the W3C traceparent of the task's span, when the scheduling node traces.
	TraceParent string `json:"traceparent,omitempty"`
}

const effectTask = "task"

func encodeTask(t interp.ScheduleTask, traceParent string) []byte {
	b, err := json.Marshal(taskEffect{
		TaskID: t.TaskID, StateName: t.StateName, Resource: t.Resource,
		Parameters:     json.RawMessage(jsonv.String(t.Parameters)),
		TimeoutSeconds: t.TimeoutSeconds, HeartbeatSeconds: t.HeartbeatSeconds, Token: t.Token,
		TestCase: t.TestCase, Invocation: t.Invocation, TraceParent: traceParent,
	})
	if err != nil {
		panic(fmt.Sprintf("engine: encoding a task effect: %v", err))
	}
	return b
}

func decodeTask(b []byte) (*taskEffect, error) {
	var t taskEffect
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("engine: task effect: %w", err)
	}
	return &t, nil
}
