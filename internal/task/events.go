package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/events"
)

// Events is EventBridge's PutEvents, which events:putEvents tasks call; *events.Service is one.
type Events interface {
	PutEvents(ctx context.Context, entries []*events.Entry) (*events.PutEventsOutput, error)
}

var _ Events = (*events.Service)(nil)

const (
	eventsPutEvents         = "arn:aws:states:::events:putEvents"
	eventsPutEventsCallback = "arn:aws:states:::events:putEvents.waitForTaskToken"
)

// isPutEvents reports whether a resource is the EventBridge integration.
func isPutEvents(resource string) bool {
	return resource == eventsPutEvents || resource == eventsPutEventsCallback
}

// putEvents runs arn:aws:states:::events:putEvents[.waitForTaskToken]: the entries go to
// EventBridge as PutEvents sends them, except that Detail may be an object (Step Functions
// sends its JSON text). The result is PutEvents' {Entries, FailedEntryCount}; when an entry
// failed the task fails with EventBridge.FailedEntry and that result as cause, as AWS does.
// With .waitForTaskToken the task then waits for its token (which the Detail carries).
func (r *Runner) putEvents(ctx context.Context, t *engine.Task) (string, error) {
	if r.o.Events == nil {
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: "EventBridge is not available to this runner"}
	}
	var in struct {
		Entries []struct {
			Detail       json.RawMessage `json:"Detail"`
			DetailType   string          `json:"DetailType"`
			EventBusName string          `json:"EventBusName"`
			Resources    []string        `json:"Resources"`
			Source       string          `json:"Source"`
			TraceHeader  string          `json:"TraceHeader"`
		} `json:"Entries"`
	}
	if err := json.Unmarshal([]byte(t.Parameters), &in); err != nil {
		return "", &engine.TaskError{Name: "EventBridge.ValidationException", Cause: fmt.Sprintf("The parameters are not valid: %v", err)}
	}
	entries := make([]*events.Entry, len(in.Entries))
	for i, e := range in.Entries {
		entry := &events.Entry{DetailType: e.DetailType, EventBusName: e.EventBusName, Resources: e.Resources, Source: e.Source, TraceHeader: e.TraceHeader}
		d := strings.TrimSpace(string(e.Detail))
		var s string
		switch {
		case d == "" || d == "null":
		case d[0] == '"' && json.Unmarshal(e.Detail, &s) == nil:
			entry.Detail = s
		default:
			entry.Detail = d
		}
		entries[i] = entry
	}
	out, err := r.o.Events.PutEvents(ctx, entries)
	if err != nil {
		var ae *events.Error
		if errors.As(err, &ae) {
			return "", &engine.TaskError{Name: "EventBridge." + ae.Code, Cause: ae.Message}
		}
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: err.Error()}
	}
	res, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("task: encoding PutEvents' result: %w", err)
	}
	if out.FailedEntryCount > 0 {
		return "", &engine.TaskError{Name: "EventBridge.FailedEntry", Cause: string(res)}
	}
	if t.Resource == eventsPutEventsCallback {
		return "", engine.ErrCallback
	}
	return string(res), nil
}
