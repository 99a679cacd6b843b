package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/project"
)

// The SAM example (examples/sam-app: a state machine whose DefinitionUri file names two
// Python functions through DefinitionSubstitutions and !GetAtt Fn.Arn, and a bucket the
// second one writes to) and a synthesized CDK app (a state machine invoking a Node function),
// each run as it is with `stepline run --project` and `stepline serve --project`.

// copyTemplateProject copies a project folder to one of the test's own (run --project keeps
// its database there), skipping the test when the machine cannot run its code.
func copyTemplateProject(t *testing.T, src string) string {
	t.Helper()
	src, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := project.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := proj.CheckTools(context.Background()); err != nil {
		t.Skipf("%s cannot run here: %v", src, err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if d.Name() == ".stepline" || d.Name() == "__pycache__" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

type runResult struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
}

func runJSON(t *testing.T, args ...string) (int, runResult, string) {
	t.Helper()
	code, out, errOut := runCLI(args...)
	var res runResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s\n%s", err, out, errOut)
	}
	return code, res, errOut
}

func TestSAMExampleRun(t *testing.T) {
	dir := copyTemplateProject(t, "../../examples/sam-app")
	code, res, errOut := runJSON(t, "run", "OrderStateMachine", "--project", dir, "--input", "@"+filepath.Join(dir, "input.json"), "--json")
	if code != exitOK || res.Status != "SUCCEEDED" {
		t.Fatalf("exit %d, %+v\n%s", code, res, errOut)
	}
	var out struct {
		Shipped bool   `json:"shipped"`
		Receipt string `json:"receipt"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil || !out.Shipped {
		t.Fatalf("output %s: %v", res.Output, err)
	}
	// The receipt is in the template's bucket, named as CloudFormation names it.
	bucket, key, _ := strings.Cut(strings.TrimPrefix(out.Receipt, "s3://"), "/")
	if !strings.HasPrefix(bucket, "sam-app-receiptsbucket-") {
		t.Errorf("receipt in bucket %s, want sam-app-receiptsbucket-SUFFIX", bucket)
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".stepline", "data", "s3", bucket, key)); err != nil || !strings.Contains(string(b), `"orderId": "order-1"`) {
		t.Errorf("receipt file: %q, %v", b, err)
	}
	for _, want := range []string{"stepline run: SAM template " + filepath.Join(dir, "template.yaml") + " (stack sam-app)",
		"stepline run: skipped ShipOrderLogGroup (AWS::Logs::LogGroup): Stepline does not run AWS::Logs::LogGroup"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// The template's condition: 30 items are out of stock in dev, in stock in prod.
	big := `{"orderId": "order-2", "quantity": 30}`
	code, res, errOut = runJSON(t, "run", "OrderStateMachine", "--project", dir, "--input", big, "--json")
	if code != exitFailed || res.Status != "FAILED" || res.Error != "OutOfStock" {
		t.Errorf("dev, 30 items: exit %d, %+v\n%s", code, res, errOut)
	}
	code, res, errOut = runJSON(t, "run", "OrderStateMachine", "--project", dir, "--input", big, "--json",
		"--parameter-overrides", "Stage=prod", "--stack-name", "orders")
	if code != exitOK || res.Status != "SUCCEEDED" || !strings.Contains(string(res.Output), `s3://orders-receiptsbucket-`) {
		t.Errorf("prod, 30 items, stack orders: exit %d, %+v\n%s", code, res, errOut)
	}

	code, _, errOut = runCLI("run", "OrderStateMachine", "--project", dir, "--parameter-overrides", "Stag=prod")
	if want := "stepline run: " + filepath.Join(dir, "template.yaml") + ": parameter override Stag: the template's parameters are Stage\n"; code != exitInvalid || errOut != want {
		t.Errorf("unknown parameter: exit %d, %q; want %q", code, errOut, want)
	}
}

func TestSAMExampleServed(t *testing.T) {
	dir := copyTemplateProject(t, "../../examples/sam-app")
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "sam.db")
	n := startNode(t, bin, "sam", "--db", db, "--project", dir, "--stack-name", "shop")
	defer n.stop()
	api := &apiClient{url: n.url}
	ctx := context.Background()
	var list struct {
		StateMachines []struct {
			Name, StateMachineArn string
		} `json:"stateMachines"`
	}
	if err := api.states(ctx, "ListStateMachines", map[string]any{}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.StateMachines) != 1 || !strings.HasPrefix(list.StateMachines[0].Name, "OrderStateMachine-") {
		t.Fatalf("state machines %+v", list.StateMachines)
	}
	var started struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := api.states(ctx, "StartExecution", map[string]string{"stateMachineArn": list.StateMachines[0].StateMachineArn,
		"input": `{"orderId": "o-9", "quantity": 1}`}, &started); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := wait(wctx, api, started.ExecutionArn)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "SUCCEEDED" || !strings.Contains(deref(out.Output), `"receipt":"s3://shop-receiptsbucket-`) {
		t.Fatalf("%s %s %s %s\n%s", out.Status, deref(out.Output), deref(out.Error), deref(out.Cause), n.logs())
	}
	logs := n.logs()
	for _, want := range []string{`msg="project read from a template" component=project file=` + filepath.Join(dir, "template.yaml") + ` kind="SAM template" stack=shop`,
		`msg="template resource skipped" component=project resource=ShipOrderLogGroup type=AWS::Logs::LogGroup reason="Stepline does not run AWS::Logs::LogGroup"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestCDKExampleRun runs the CDK app's synthesized template kept beside the project tests
// (scripts/e2e.sh synthesizes examples/cdk-app itself with the aws-cdk CLI).
func TestCDKExampleRun(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH")
	}
	dir := copyTemplateProject(t, "../../internal/project/testdata/templates/cdk")
	code, res, errOut := runJSON(t, "run", "Greeting", "--project", dir, "--input", `{"name": "CDK"}`, "--json")
	if code != exitOK || res.Status != "SUCCEEDED" || !strings.Contains(string(res.Output), `"message":"Hello, CDK!"`) {
		t.Fatalf("exit %d, %+v\n%s", code, res, errOut)
	}
	if !strings.Contains(errOut, "stepline run: CDK app "+filepath.Join(dir, "cdk.out", "StepsStack.template.json")+" (stack StepsStack)") {
		t.Errorf("stderr:\n%s", errOut)
	}
}
