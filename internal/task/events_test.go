package task

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/store/sqlite"
)

func TestPutEventsTask(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "stepline.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := events.New(events.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Options{Events: ev})
	run := func(resource, params string) (string, error) {
		return r.Run(context.Background(), &engine.Task{Resource: resource, Parameters: params})
	}
	out, err := run("arn:aws:states:::events:putEvents",
		`{"Entries":[{"Source":"a","DetailType":"b","Detail":{"x":1}},{"Source":"a","DetailType":"b","Detail":"{\"y\":2}"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Entries []struct {
			EventID string `json:"EventId"`
		}
		FailedEntryCount int
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.FailedEntryCount != 0 || len(res.Entries) != 2 || len(res.Entries[1].EventID) != 36 {
		t.Fatalf("output %s: %v", out, err)
	}
	if !strings.HasPrefix(out, `{"Entries":[`) {
		t.Fatalf("output %s: Entries first, as AWS", out)
	}
	// An entry that fails fails the task with the whole result as cause.
	_, err = run("arn:aws:states:::events:putEvents", `{"Entries":[{"Source":"a","DetailType":"b","Detail":"\"s\""}]}`)
	var te *engine.TaskError
	if !errors.As(err, &te) || te.Name != "EventBridge.FailedEntry" ||
		te.Cause != `{"Entries":[{"ErrorCode":"MalformedDetail","ErrorMessage":"Detail is malformed."}],"FailedEntryCount":1}` {
		t.Fatalf("err = %v", err)
	}
	// .waitForTaskToken puts the events, then waits for the token.
	_, err = run("arn:aws:states:::events:putEvents.waitForTaskToken", `{"Entries":[{"Source":"a","DetailType":"b","Detail":{"token":"t"}}]}`)
	if !errors.Is(err, engine.ErrCallback) {
		t.Fatalf("err = %v", err)
	}
	_, err = run("arn:aws:states:::events:putEvents", `{"Entries":[]}`)
	if !errors.As(err, &te) || te.Name != "EventBridge.ValidationException" {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(Options{}).Run(context.Background(), &engine.Task{Resource: "arn:aws:states:::events:putEvents", Parameters: `{}`}); !errors.As(err, &te) || te.Name != "States.TaskFailed" {
		t.Fatalf("without EventBridge: %v", err)
	}
}
