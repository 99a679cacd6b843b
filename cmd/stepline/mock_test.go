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

// AWS's example mock configuration and its state machine (see internal/mock/testdata).
var (
	awsMockConfig  = filepath.Join("..", "..", "internal", "mock", "testdata", "MockConfigFile.json")
	awsMockMachine = filepath.Join("..", "..", "internal", "mock", "testdata", "LambdaSQSIntegration.json")
)

const mockedSQS = `{"MD5OfMessageBody":"3bcb6e8e-7h85-4375-b0bc-1a59812c6e51","MessageId":"3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}`

// TestRunMockConfig runs AWS's example test cases with stepline run --mock-config --test-case:
// the state machine is named after the file, as the mock file names it.
func TestRunMockConfig(t *testing.T) {
	bad := writeFile(t, "bad.json", `{"StateMachines":{"LambdaSQSIntegration":{"TestCases":{"T":{"LambdaState":"Nope"}}}}}`)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, or a substring when stderr is checked
		stderr string
	}{
		{"HappyPath", []string{"--test-case", "HappyPath"}, exitOK, `{"status":"SUCCEEDED","output":` + mockedSQS + `}`, ""},
		{"RetryPath", []string{"--test-case", "RetryPath", "--wait-scale", "0"}, exitOK, `{"status":"SUCCEEDED","output":` + mockedSQS + `}`, ""},
		{"HybridPath calls SQS, which a one-shot run does not have", []string{"--test-case", "HybridPath"}, exitFailed,
			`{"status":"FAILED","error":"States.TaskFailed","cause":"The resource arn:aws:states:::sqs:sendMessage of state \"SQSState\" is not supported by Stepline yet"}`, ""},
		{"unknown test case", []string{"--test-case", "SadPath"}, exitInvalid, "", `test case not in the mock configuration: "SadPath"`},
		{"bad file", []string{"--test-case", "T", "--mock-config", bad}, exitInvalid, "",
			`the mocked response "Nope" is not defined in MockedResponses at /StateMachines/LambdaSQSIntegration/TestCases/T/LambdaState`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"run", awsMockMachine, "--json", "--mock-config", awsMockConfig}, tc.args...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.code || tc.stdout != "" && strings.TrimSpace(stdout.String()) != tc.stdout || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant exit %d, %s, %s", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

// TestRunMockConfigHistory: RetryPath's history shows the three mocked failures the retries
// answered, then the mocked success, as task events of the lambda:invoke resource.
func TestRunMockConfigHistory(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", awsMockMachine, "--json", "--history", "--wait-scale", "0",
		"--mock-config", awsMockConfig, "--test-case", "RetryPath"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	var res struct {
		Events []struct {
			Type                      string `json:"type"`
			TaskScheduledEventDetails *struct {
				Resource, ResourceType string
			} `json:"taskScheduledEventDetails"`
			TaskFailedEventDetails *struct{ Error string } `json:"taskFailedEventDetails"`
		} `json:"events"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Events {
		switch {
		case e.TaskScheduledEventDetails != nil:
			got = append(got, e.Type+" "+e.TaskScheduledEventDetails.ResourceType+":"+e.TaskScheduledEventDetails.Resource)
		case e.TaskFailedEventDetails != nil:
			got = append(got, e.Type+" "+e.TaskFailedEventDetails.Error)
		case strings.HasPrefix(e.Type, "Task"):
			got = append(got, e.Type)
		}
	}
	want := "TaskStateEntered TaskScheduled lambda:invoke TaskStarted TaskFailed Lambda.ResourceNotReadyException " +
		"TaskScheduled lambda:invoke TaskStarted TaskFailed Lambda.TimeoutException " +
		"TaskScheduled lambda:invoke TaskStarted TaskFailed Lambda.TimeoutException " +
		"TaskScheduled lambda:invoke TaskStarted TaskSucceeded TaskStateExited " +
		"TaskStateEntered TaskScheduled sqs:sendMessage TaskStarted TaskSucceeded TaskStateExited"
	if strings.Join(got, " ") != want {
		t.Errorf("history\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

// TestMockConfigFromEnvironment: SFN_MOCK_CONFIG names the file when --mock-config does not,
// as for Step Functions Local; the flag wins over it; serve refuses to start on a bad file,
// saying where the mistake is.
func TestMockConfigFromEnvironment(t *testing.T) {
	t.Setenv("SFN_MOCK_CONFIG", awsMockConfig)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"run", awsMockMachine, "--json", "--test-case", "HappyPath"}, &stdout, &stderr); code != exitOK {
		t.Errorf("with SFN_MOCK_CONFIG: exit %d %s %s", code, stdout.String(), stderr.String())
	}
	bad := writeFile(t, "bad.json", `{"StateMachines":{},"MockedResponses":{"R":{"0":{"Return":1},"0-1":{"Return":2}}}}`)
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"run", awsMockMachine, "--json", "--test-case", "HappyPath", "--mock-config", bad}, &stdout, &stderr); code != exitInvalid ||
		!strings.Contains(stderr.String(), `the invocation ranges "0" and "0-1" overlap at /MockedResponses/R`) {
		t.Errorf("--mock-config over SFN_MOCK_CONFIG: exit %d %s", code, stderr.String())
	}
	t.Setenv("SFN_MOCK_CONFIG", bad)
	stderr.Reset()
	code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db")}, &stdout, &stderr)
	if want := "stepline serve: " + bad + `: the invocation ranges "0" and "0-1" overlap at /MockedResponses/R`; code != exitFailed || strings.TrimSpace(stderr.String()) != want {
		t.Errorf("serve with a bad SFN_MOCK_CONFIG: exit %d %q, want %q", code, stderr.String(), want)
	}
}

// TestRunProjectMockConfig: with --project the run's own server takes the mock configuration,
// and the execution starts on the machine's ARN#TestCase.
func TestRunProjectMockConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeIn := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	def, err := os.ReadFile(awsMockMachine)
	if err != nil {
		t.Fatal(err)
	}
	writeIn("machine.json", string(def))
	writeIn("stepline.yaml", "stateMachines:\n  LambdaSQSIntegration:\n    definition: machine.json\n")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "LambdaSQSIntegration", "--project", dir, "--json", "--wait-scale", "0.001",
		"--mock-config", awsMockConfig, "--test-case", "RetryPath"}, &stdout, &stderr)
	if want := `{"status":"SUCCEEDED","output":` + mockedSQS + `}`; code != exitOK || strings.TrimSpace(stdout.String()) != want {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant %s", code, stdout.String(), stderr.String(), want)
	}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"run", "LambdaSQSIntegration", "--project", dir, "--json",
		"--mock-config", awsMockConfig, "--test-case", "SadPath"}, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stderr.String(), "ValidationException") || !strings.Contains(stderr.String(), "SadPath") {
		t.Errorf("unknown test case: exit %d %s %s", code, stdout.String(), stderr.String())
	}
}
