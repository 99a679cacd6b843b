package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/logs"
)

// Logging is a case's loggingConfiguration, which the corpus records without its destination.
type Logging struct {
	Level                string
	IncludeExecutionData bool
}

// loggingOf is the loggingConfiguration the case's state machine had when the execution
// started: CreateStateMachine's, or that of the last UpdateStateMachine the test made.
func loggingOf(c *Case) *Logging {
	var cfg *jsonv.Object
	if args, _ := get(c.Context, "create_state_machine_extra_args").(*jsonv.Object); args != nil {
		cfg, _ = get(args, "loggingConfiguration").(*jsonv.Object)
	}
	calls, _ := get(c.Context, "other_api_calls_by_test").([]jsonv.Value)
	for _, v := range calls {
		call, _ := v.(*jsonv.Object)
		if call == nil || str(call, "op") != "update_state_machine" {
			continue
		}
		if args, _ := get(call, "args").(*jsonv.Object); args != nil {
			if l, _ := get(args, "loggingConfiguration").(*jsonv.Object); l != nil {
				cfg = l
			}
		}
	}
	if cfg == nil {
		return nil
	}
	incl, _ := get(cfg, "includeExecutionData").(bool)
	return &Logging{Level: str(cfg, "level"), IncludeExecutionData: incl}
}

// expressArn is the ARN of an EXPRESS case's execution, with the UUID the recording replaced
// by <ExpressExecArn_Part2_0idx>, so that the ARN normalises as recorded; "" for other cases.
func expressArn(c *Case) string {
	if c.ctx("state_machine_type") != "EXPRESS" {
		return ""
	}
	norm, _ := get(c.Context, "normalization").(*jsonv.Object)
	reps, _ := get(norm, "replacements").([]jsonv.Value)
	for _, v := range reps {
		r, _ := v.(*jsonv.Object)
		if r != nil && str(r, "replacement") == "<ExpressExecArn_Part2_0idx>" {
			return fmt.Sprintf("arn:aws:states:%s:%s:express:%s:%s:%s", Region, Account, c.ctx("state_machine_name"), c.ctx("execution_name"), str(r, "regex"))
		}
	}
	return ""
}

// loggedEvents writes an execution's events as its loggingConfiguration asks, through the
// logs service Stepline serves (package logs, in a folder of its own), and reads them back
// with FilterLogEvents: the messages, as JSON values, in the order they were logged.
func loggedEvents(ctx context.Context, work string, l *Logging, stateMachineName, executionArn string, events []history.Event) ([]json.RawMessage, error) {
	dir, err := os.MkdirTemp(work, "logs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	svc, err := logs.New(logs.Options{DataDir: dir, Account: Account, Region: Region, MaxGroupBytes: -1})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	const group = "conformance-log-group"
	raw, err := json.Marshal(map[string]any{"level": l.Level, "includeExecutionData": l.IncludeExecutionData,
		"destinations": []any{map[string]any{"cloudWatchLogsLogGroup": map[string]string{
			"logGroupArn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", Region, Account, group)}}}})
	if err != nil {
		return nil, err
	}
	if err := svc.ExecutionLogs().Log(raw, stateMachineName, executionArn, 0, events); err != nil {
		return nil, err
	}
	out, err := svc.Call(ctx, "FilterLogEvents", []byte(`{"logGroupName":"`+group+`"}`))
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return []json.RawMessage{}, nil // nothing was logged, so the group was never made
		}
		return nil, err
	}
	var res struct {
		Events []struct {
			Message string `json:"message"`
		} `json:"events"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, err
	}
	msgs := make([]json.RawMessage, len(res.Events))
	for i, e := range res.Events {
		msgs[i] = json.RawMessage(e.Message)
	}
	return msgs, nil
}

// checkLogs compares the logged events of an engine result with the case's logged_events
// (every event) and end_log_event (the last one), after the corpus's normalisation.
func checkLogs(c *Case, n *Normaliser, got *jsonv.Object) (recorded bool, mismatch string) {
	wantAll, hasAll := get(c.Expect, "logged_events").([]jsonv.Value)
	wantEnd, hasEnd := c.Expect.Get("end_log_event")
	if !hasAll && !hasEnd {
		return false, ""
	}
	mine, ok := get(got, "logged_events").([]jsonv.Value)
	if !ok {
		return true, "logs: the engine logged nothing"
	}
	norm, err := n.Normalise(jsonv.ObjectOf(jsonv.Member{Key: "logged_events", Value: mine}))
	if err != nil {
		return true, "logs: " + err.Error()
	}
	mine, _ = get(norm.(*jsonv.Object), "logged_events").([]jsonv.Value)
	if hasAll {
		if len(mine) != len(wantAll) {
			return true, fmt.Sprintf("logs: %d events logged, want %d (%s)", len(mine), len(wantAll), short(jsonv.Value(mine)))
		}
		for i := range wantAll {
			if d := diffAt(fmt.Sprintf("logged_events[%d]", i), mine[i], wantAll[i], n.Tokens); d != nil {
				return true, "logs: " + d.String()
			}
		}
	}
	if hasEnd {
		if len(mine) == 0 {
			return true, "logs: nothing logged, want an end event"
		}
		if d := diffAt("end_log_event", mine[len(mine)-1], wantEnd, n.Tokens); d != nil {
			return true, "logs: " + d.String()
		}
	}
	return true, ""
}
