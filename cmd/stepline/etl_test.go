package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/project"
)

// The README's main command: examples/etl, the seed's pipeline (crawlers, a Glue Python
// shell job, six Python functions polling them), end to end through `stepline serve
// --project` and `stepline run --project`. It needs python3 with boto3, as the example does.

// etlWaitScale shortens the state machine's 3-second polls.
const etlWaitScale = "0.2"

// copyExample copies examples/etl (without what earlier runs left in it) to a folder of the
// test's own, since `stepline run --project` keeps its database there.
func copyExample(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../../examples/etl")
	if err != nil {
		t.Fatal(err)
	}
	proj, err := project.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := proj.CheckTools(context.Background()); err != nil {
		t.Skipf("the ETL example cannot run here: %v", err)
	}
	dst := t.TempDir()
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if d.Name() == ".stepline" || d.Name() == "__pycache__" {
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

// etlHistory is what the tests read of an execution's history.
type etlHistory struct {
	entered map[string]int // by event type
	states  map[string]int // entries by state name
}

func readHistory(t *testing.T, events []json.RawMessage) etlHistory {
	t.Helper()
	h := etlHistory{entered: map[string]int{}, states: map[string]int{}}
	for _, raw := range events {
		var ev struct {
			Type    string `json:"type"`
			Entered *struct {
				Name string `json:"name"`
			} `json:"stateEnteredEventDetails"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		h.entered[ev.Type]++
		if ev.Entered != nil {
			h.states[ev.Entered.Name]++
		}
	}
	return h
}

// checkSucceeded checks the acceptance's counts of a successful pipeline.
func checkSucceeded(t *testing.T, how string, h etlHistory) {
	t.Helper()
	for typ, least := range map[string]int{"TaskStateEntered": 6, "WaitStateEntered": 3, "ChoiceStateEntered": 3} {
		if h.entered[typ] < least {
			t.Errorf("%s: %d %s events, want at least %d", how, h.entered[typ], typ, least)
		}
	}
	t.Logf("%s: %d Task, %d Wait, %d Choice states entered", how, h.entered["TaskStateEntered"],
		h.entered["WaitStateEntered"], h.entered["ChoiceStateEntered"])
}

// checkCurated checks the files the job wrote under the data folder and the catalog the
// destination crawler made of them.
func checkCurated(t *testing.T, how, data string, api *apiClient) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "s3", "etl-curated", "sales", "dt=*", "part-00000.json.gz"))
	if len(files) != 14 {
		t.Errorf("%s: %d curated files under %s, want 14 (one a day)", how, len(files), data)
	}
	if api == nil {
		return
	}
	ctx := context.Background()
	var tables struct {
		TableList []struct{ Name string }
	}
	if err := api.glue(ctx, "GetTables", map[string]string{"DatabaseName": "curated"}, &tables); err != nil {
		t.Fatalf("%s: GetTables: %v", how, err)
	}
	if len(tables.TableList) != 1 || tables.TableList[0].Name != "sales" {
		t.Fatalf("%s: curated tables %+v, want sales", how, tables.TableList)
	}
	var parts struct {
		Partitions []struct{ Values []string }
	}
	if err := api.glue(ctx, "GetPartitions", map[string]string{"DatabaseName": "curated", "TableName": "sales"}, &parts); err != nil {
		t.Fatalf("%s: GetPartitions: %v", how, err)
	}
	var days []string
	for _, p := range parts.Partitions {
		days = append(days, strings.Join(p.Values, "/"))
	}
	slices.Sort(days)
	if len(days) != 14 || days[0] != "2024-03-01" || days[13] != "2024-03-14" {
		t.Errorf("%s: partitions %v, want 2024-03-01 … 2024-03-14", how, days)
	}
}

// serveExecution runs one execution on a served node and returns how it ended and its history.
func serveExecution(t *testing.T, api *apiClient, input string) (outcome, []json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	var started struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := api.states(ctx, "StartExecution", map[string]string{"input": input,
		"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:etl-pipeline"}, &started); err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := wait(wctx, api, started.ExecutionArn)
	if err != nil {
		t.Fatalf("waiting for %s: %v", started.ExecutionArn, err)
	}
	raw, err := history(ctx, api, started.ExecutionArn)
	if err != nil {
		t.Fatal(err)
	}
	var events []json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		t.Fatal(err)
	}
	return out, events
}

func TestETLExampleServed(t *testing.T) {
	dir := copyExample(t)
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "etl.db")
	n := startNode(t, bin, "etl", "--db", db, "--project", dir, "--wait-scale", etlWaitScale)
	defer n.stop()
	api := &apiClient{url: n.url}
	input, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	out, events := serveExecution(t, api, string(input))
	t.Logf("served: %s in %v", out.Status, time.Since(began).Round(time.Millisecond))
	if out.Status != "SUCCEEDED" {
		t.Fatalf("served: %s, error %v, cause %v", out.Status, deref(out.Error), deref(out.Cause))
	}
	checkSucceeded(t, "served", readHistory(t, events))
	checkCurated(t, "served", filepath.Join(filepath.Dir(db), "stepline-data"), api)

	// input-fail.json allows no bad row: the job fails, the Parallel's Retry runs it once
	// more, and the Catch ends in GlueJobFailed with the job's error.
	fail, err := os.ReadFile(filepath.Join(dir, "input-fail.json"))
	if err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	out, events = serveExecution(t, api, string(fail))
	t.Logf("served, failing job: %s in %v", out.Status, time.Since(began).Round(time.Millisecond))
	h := readHistory(t, events)
	if out.Status != "FAILED" || deref(out.Error) != "JobRunFailed" || !strings.Contains(deref(out.Cause), "could not be read") {
		t.Errorf("failing job: %s, error %q, cause %q; want FAILED, JobRunFailed, the job's message", out.Status, deref(out.Error), deref(out.Cause))
	}
	if h.states["GlueJobFailed"] != 1 || h.entered["ParallelStateStarted"] != 2 || h.states["StartGlueJob"] != 2 {
		t.Errorf("failing job: GlueJobFailed entered %d, RunGlueJob started %d, StartGlueJob entered %d; want 1, 2 (the retry), 2",
			h.states["GlueJobFailed"], h.entered["ParallelStateStarted"], h.states["StartGlueJob"])
	}
}

func TestETLExampleRun(t *testing.T) {
	dir := copyExample(t)
	began := time.Now()
	code, out, errOut := runCLI("run", "etl-pipeline", "--project", dir, "--input", "@"+filepath.Join(dir, "input.json"),
		"--wait-scale", etlWaitScale, "--json", "--history")
	t.Logf("stepline run: exit %d in %v", code, time.Since(began).Round(time.Millisecond))
	var res struct {
		Status string            `json:"status"`
		Output json.RawMessage   `json:"output"`
		Error  string            `json:"error"`
		Cause  string            `json:"cause"`
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s\n%s", err, out, errOut)
	}
	if code != exitOK || res.Status != "SUCCEEDED" {
		t.Fatalf("exit %d, %s %s %s\n%s", code, res.Status, res.Error, res.Cause, errOut)
	}
	if !strings.Contains(string(res.Output), `"curatedTables":["sales"]`) {
		t.Errorf("output %s lacks the curated tables", res.Output)
	}
	checkSucceeded(t, "run", readHistory(t, res.Events))
	data := filepath.Join(dir, ".stepline", "data")
	checkCurated(t, "run", data, nil)
	for _, want := range []string{"glue database curated: sales (14 partitions by dt)", filepath.Join(data, "s3")} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// The second run deploys nothing new and fails the job as the served one does.
	code, out, errOut = runCLI("run", "etl-pipeline", "--project", dir, "--input", "@"+filepath.Join(dir, "input-fail.json"),
		"--wait-scale", etlWaitScale)
	if code != exitFailed || !strings.HasPrefix(out, "FAILED\nerror: JobRunFailed\n") {
		t.Errorf("failing run: exit %d\n%s%s", code, out, errOut)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestRunProjectChecksTools: without python3, a project with Python functions stops before
// anything starts, with one line saying what is missing.
func TestRunProjectChecksTools(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"stepline.yaml": "functions:\n  f: {code: fn, runtime: python3.12, handler: app.handler}\n" +
			"stateMachines:\n  M: {definition: m.json}\n",
		"fn/app.py": "def handler(e, c):\n    return e\n",
		"m.json":    `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", t.TempDir())
	code, out, errOut := runCLI("run", "M", "--project", dir)
	want := "stepline run: python3 is not on PATH; the project's Python code needs it, with boto3 (function f)\n"
	if code != exitInvalid || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, exitInvalid, want)
	}
}

func TestRunProjectOneAtATime(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockRun(dir); err == nil || !strings.Contains(err.Error(), "another stepline run is using "+dir) {
		t.Errorf("a second run while the first holds the folder: %v", err)
	}
	unlock()
	again, err := lockRun(dir)
	if err != nil {
		t.Fatalf("after the first run ended: %v", err)
	}
	again()
}

func TestRunProjectUnknownMachine(t *testing.T) {
	dir, err := filepath.Abs("../../examples/etl")
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI("run", "etl-pipline", "--project", dir)
	want := "stepline run: etl-pipline is neither a file nor a state machine of the project (etl-pipeline)\n"
	if code != exitInvalid || errOut != want {
		t.Errorf("exit %d, stderr %q; want %d, %q", code, errOut, exitInvalid, want)
	}
}
