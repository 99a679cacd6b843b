package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// runCLI runs the command in-process and returns its exit code and outputs.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestInitServeRun writes the starter project, serves it with the real binary and runs an
// execution to success through the AWS API; the same project runs once with `stepline run`.
func TestInitServeRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "starter")
	code, out, errOut := runCLI("init", dir)
	if code != exitOK || !strings.Contains(out, "wrote "+filepath.Join(dir, "stepline.yaml")) {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	// A second init would overwrite: refused, and nothing is written.
	before, _ := os.ReadFile(filepath.Join(dir, "stepline.yaml"))
	if code, _, errOut := runCLI("init", dir); code == exitOK || !strings.Contains(errOut, "exists") {
		t.Errorf("a second init: exit %d, %s; want a refusal", code, errOut)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "stepline.yaml")); !bytes.Equal(before, after) {
		t.Error("a refused init changed stepline.yaml")
	}

	bin := buildBinary(t)
	n := startNode(t, bin, "starter", "--db", filepath.Join(t.TempDir(), "s.db"), "--project", dir)
	res, err := n.client.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:Greeter"), Input: aws.String(`{"name":"Ada"}`)})
	if err != nil {
		t.Fatal(err)
	}
	checkEnded(t, n.client, aws.ToString(res.ExecutionArn), `{"greeting":"Hello, Ada!"}`, []string{"Greet"}, time.Minute)
	n.stop()

	code, out, errOut = runCLI("run", "Greeter", "--project", dir, "--input", `{"name":"Bo"}`, "--json")
	if code != exitOK || out != `{"status":"SUCCEEDED","output":{"greeting":"Hello, Bo!"}}`+"\n" {
		t.Errorf("run --project: exit %d\n%s%s", code, out, errOut)
	}
}

// TestRunProjectGoFunction runs a Go function (aws-lambda-go) built from source by
// `stepline run --project`, twice: the second run takes the build from the project's cache.
func TestRunProjectGoFunction(t *testing.T) {
	src, err := filepath.Abs("../../internal/lambda/sandbox/testdata/goecho")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"stepline.yaml": fmt.Sprintf("stateMachines:\n  Echo:\n    definition: echo.json\nfunctions:\n  goecho:\n    code: %s\n    runtime: provided.al2023\n", src),
		"echo.json": `{"StartAt":"Call","States":{"Call":{"Type":"Task",
			"Resource":"arn:aws:lambda:us-east-1:123456789012:function:goecho","End":true}}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		code, out, errOut := runCLI("run", "Echo", "--project", dir, "--input", `{"op":"echo","data":{"from":"go"}}`, "--json")
		if code != exitOK || out != `{"status":"SUCCEEDED","output":{"from":"go"}}`+"\n" {
			t.Fatalf("run %d: exit %d\n%s%s", i+1, code, out, errOut)
		}
	}
	builds, _ := filepath.Glob(filepath.Join(dir, ".stepline", "data", "project", "build", "*", "bootstrap"))
	if len(builds) != 1 {
		t.Errorf("the project's build cache holds %d builds after two runs, want 1", len(builds))
	}
}

// TestRunProjectEndpoint binds a function to another `stepline serve` process: the one-shot
// run's Task state invokes it there.
func TestRunProjectEndpoint(t *testing.T) {
	ext := t.TempDir()
	for name, text := range map[string]string{
		"stepline.yaml": "functions:\n  shout:\n    code: fn\n    runtime: python3.11\n    handler: app.handler\n",
		"fn/app.py":     "def handler(event, context):\n    return event['word'].upper() + '!'\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ext, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ext, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinary(t)
	n := startNode(t, bin, "external", "--db", filepath.Join(t.TempDir(), "ext.db"), "--project", ext)
	defer n.stop()

	dir := t.TempDir()
	yaml := fmt.Sprintf("functions:\n  local-name:\n    endpoint: %s\n    functionName: shout\n", n.url)
	def := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:local-name","Payload.$":"$"},
		"OutputPath":"$.Payload","End":true}}}`
	if err := os.WriteFile(filepath.Join(dir, "stepline.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "call.json")
	if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("run", file, "--project", dir, "--input", `{"word":"far"}`, "--json")
	if code != exitOK || out != `{"status":"SUCCEEDED","output":"FAR!"}`+"\n" {
		t.Errorf("run against the endpoint: exit %d\n%s%s", code, out, errOut)
	}
	// A function error there is the task's error here, as Lambda reports it.
	code, out, _ = runCLI("run", file, "--project", dir, "--input", `{}`, "--json")
	if code != exitFailed || !strings.Contains(out, `"error":"KeyError"`) {
		t.Errorf("a failing remote function: exit %d, %s; want KeyError", code, out)
	}
}

func TestRunProjectMistakes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stepline.yaml"), []byte("stateMachines:\n  A:\n    definiton: a.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI("run", "A", "--project", dir)
	want := "stepline run: " + filepath.Join(dir, "stepline.yaml") +
		":3: stateMachines.A.definiton: unknown key (known: definition, type, definitionSubstitutions, tags, logging, roleArn)\n"
	if code != exitInvalid || errOut != want {
		t.Errorf("exit %d, stderr %q; want %d, %q", code, errOut, exitInvalid, want)
	}
}

// TestRunExpressContext checks the context object of an Express one-shot run: an express: ARN
// and, as for a synchronous Express execution, no RedriveCount (the corpus case
// express_sync__query_runtime_memory).
func TestRunExpressContext(t *testing.T) {
	file := writeFile(t, "ctx.json", `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"c.$":"$$.Execution"},"End":true}}}`)
	for _, tc := range []struct {
		typ, arnPart string
		redrive      bool
	}{{"EXPRESS", ":express:ctx:run1:", false}, {"STANDARD", ":execution:ctx:run1", true}} {
		code, out, errOut := runCLI("run", file, "--type", tc.typ, "--name", "run1", "--json")
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", tc.typ, code, errOut)
		}
		var res struct {
			Output struct {
				C map[string]any `json:"c"`
			} `json:"output"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		id, _ := res.Output.C["Id"].(string)
		_, hasRedrive := res.Output.C["RedriveCount"]
		if !strings.HasPrefix(id, "arn:aws:states:us-east-1:123456789012") || !strings.Contains(id, tc.arnPart) || hasRedrive != tc.redrive {
			t.Errorf("%s: context %v; want an Id with %q, RedriveCount %v", tc.typ, res.Output.C, tc.arnPart, tc.redrive)
		}
	}
}

func TestUsageListsFlags(t *testing.T) {
	_, out, _ := runCLI("help")
	_, runUsage, _ := strings.Cut(out, "stepline run ")
	runUsage, _, _ = strings.Cut(runUsage, "stepline validate")
	for _, want := range []string{"FILE|NAME", "[--type STANDARD|EXPRESS]", "[--name EXECUTION]", "[--project DIR]"} {
		if !strings.Contains(runUsage, want) {
			t.Errorf("run's usage lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "stepline init DIR") {
		t.Errorf("usage lacks init:\n%s", out)
	}
}
