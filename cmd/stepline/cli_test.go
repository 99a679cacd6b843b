package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunAndValidate checks the one-shot commands' contract: exit codes, the single JSON object of
// --json, "events" with --history, and one diagnostic a line from validate.
func TestRunAndValidate(t *testing.T) {
	ok := writeFile(t, "ok.asl.json", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"P"},
		"P":{"Type":"Pass","Parameters":{"greeting.$":"States.Format('Hello, {}!', $.name)"},"End":true}}}`)
	fails := writeFile(t, "fail.asl.json", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"on purpose"}}}`)
	task := writeFile(t, "task.asl.json", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`)
	invalid := writeFile(t, "bad.asl.json", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"C":{"Type":"Pass","End":true}}}`)
	notJSON := writeFile(t, "notjson.asl.json", `{"StartAt":`)
	express := writeFile(t, "express.asl.json", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","End":true}}}`)
	input := writeFile(t, "input.json", `{"name": "Ada"}`)
	twoYears := writeFile(t, "years.asl.json", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":63072000,"End":true}}}`)
	tenMinutes := writeFile(t, "minutes.asl.json", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`)
	// 6,250 rounds of four events: past the 25,000 events of a Standard execution's history.
	counter := writeFile(t, "counter.asl.json", `{"StartAt":"Inc","States":{
		"Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"Check"},
		"Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericGreaterThanEquals":6250,"Next":"Done"}],"Default":"Inc"},
		"Done":{"Type":"Succeed"}}}`)

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring, or the exact JSON object for --json runs
		jsonKeys []string
	}{
		{"run succeeds", []string{"run", ok, "--input", "@" + input, "--json", "--wait-scale", "0"}, exitOK,
			`{"status":"SUCCEEDED","output":{"greeting":"Hello, Ada!"}}`, nil},
		{"run with history", []string{"run", ok, "--json", "--history", "--wait-scale", "0", "--input", `{"name":"x"}`}, exitOK,
			"", []string{"status", "output", "events"}},
		{"run fails", []string{"run", fails, "--json"}, exitFailed,
			`{"status":"FAILED","error":"Oops","cause":"on purpose"}`, nil},
		{"a Wait of two years times out at the one-year quota", []string{"run", twoYears, "--json", "--wait-scale", "0"}, exitFailed,
			`{"status":"TIMED_OUT"}`, nil},
		{"an Express Wait of ten minutes times out at five", []string{"run", tenMinutes, "--json", "--type", "EXPRESS", "--wait-scale", "0"}, exitFailed,
			`{"status":"TIMED_OUT"}`, nil},
		{"history limit", []string{"run", counter, "--json", "--input", `{"i":0}`}, exitFailed,
			`{"status":"FAILED","error":"States.Runtime","cause":"The execution reached the maximum number of history events (25000)."}`, nil},
		{"no history limit for Express", []string{"run", counter, "--json", "--type", "EXPRESS", "--input", `{"i":0}`}, exitOK,
			`{"status":"SUCCEEDED","output":{"i":6250}}`, nil},
		{"task without runner", []string{"run", task, "--json"}, exitFailed, `"error":"States.TaskFailed"`, nil},
		{"invalid definition", []string{"run", invalid, "--json"}, exitInvalid, "", nil},
		{"input not JSON", []string{"run", ok, "--input", `{"a":`}, exitInvalid, "", nil},
		{"validate ok", []string{"validate", ok}, exitOK, "OK", nil},
		{"validate diagnostics", []string{"validate", invalid}, exitInvalid,
			"MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next\nMISSING_TRANSITION_TARGET: State \"C\" is not reachable. at /States/C\n", nil},
		{"validate not JSON", []string{"validate", notJSON}, exitInvalid, "INVALID_JSON_DESCRIPTION", nil},
		{"validate express rules", []string{"validate", express, "--type", "EXPRESS"}, exitInvalid,
			"Express state machine does not support Activity ARN", nil},
		{"unknown command", []string{"frobnicate"}, exitInvalid, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			out := stdout.String()
			if tc.stdout != "" && !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if tc.jsonKeys != nil {
				var obj map[string]any
				if err := json.Unmarshal([]byte(out), &obj); err != nil {
					t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
				}
				for _, k := range tc.jsonKeys {
					if _, ok := obj[k]; !ok {
						t.Errorf("--json output lacks %q: %s", k, out)
					}
				}
				if events, _ := obj["events"].([]any); len(events) != 6 {
					t.Errorf("history has %d events, want 6", len(events))
				}
			}
		})
	}
}
