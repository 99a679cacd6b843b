package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/server"
)

// projectRun is one `stepline run --project` execution.
type projectRun struct {
	proj *project.Project
	// caBundle is --ca-bundle: CAs the run's HTTP Tasks trust.
	caBundle string
	// opts are the template options the project was loaded with, for the run's server.
	opts project.LoadOptions
	// machine is the state machine's name; definition its text when it is a file the project
	// does not declare (deployed beside the project's), "" for a declared one.
	machine, definition string
	mtype               asl.MachineType
	input, execName     string
	asJSON, withHistory bool
	waitScale           float64
	account, region     string
	// mockConfig and testCase run the execution under a Step Functions Local mock test case.
	mockConfig, testCase string
}

// pollInterval is how often a project run asks whether its execution ended.
const pollInterval = 50 * time.Millisecond

// runOnServer runs the execution on a Stepline server of the run's own, so that the project's
// code reaches every service it calls (Glue, S3, Lambda) at AWS_ENDPOINT_URL, as on `stepline
// serve`: the server listens on a free loopback port, keeps its database and data folder in
// the project's .stepline folder (so that what the execution wrote can be looked at, and a
// second run deploys only what changed), deploys the project, starts the execution and waits
// for its end; then it stops.
func runOnServer(ctx context.Context, r *projectRun, stdout, stderr io.Writer) int {
	if err := r.proj.CheckTools(ctx); err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		return exitInvalid
	}
	state := filepath.Join(r.proj.Dir, ".stepline")
	if err := os.MkdirAll(state, 0o755); err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		return exitInvalid
	}
	unlock, err := lockRun(state)
	if err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		return exitInvalid
	}
	defer unlock()
	db, data := filepath.Join(state, "stepline.db"), filepath.Join(state, "data")
	if r.proj.Source != project.FileName {
		// The run's server logs warnings only: say here what the template gave, and what not.
		fmt.Fprintf(stderr, "stepline run: %s %s (stack %s)\n", r.proj.Source, r.proj.File, r.proj.StackName)
		for _, s := range r.proj.Skipped {
			fmt.Fprintf(stderr, "stepline run: skipped %s (%s): %s\n", s.LogicalID, s.Type, s.Reason)
		}
	}
	srv, err := server.New(ctx, server.Options{Addr: "127.0.0.1:0", DB: "sqlite:" + db, DataDir: data, Project: r.proj.Dir, ProjectOptions: r.opts,
		WaitScale: r.waitScale, Account: r.account, Region: r.region, MockConfig: r.mockConfig, CABundle: r.caBundle,
		// One run at a time holds the folder (the lock), so the node's name can stay the
		// same from run to run: a run that was killed leaves crawls and job runs the next
		// one ends.
		Node:   "stepline-run",
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		return exitInvalid
	}
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		_ = srv.Stop(context.Background())
		return exitFailed
	}
	api := &apiClient{url: "http://" + srv.Addr()}
	code := r.execute(ctx, api, stdout, stderr)
	if code != exitInvalid && ctx.Err() == nil {
		r.catalog(ctx, api, stderr)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := srv.Stop(stopCtx); err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
	}
	if code != exitInvalid {
		r.printWhere(stderr, db, data)
	}
	return code
}

// lockRun holds dir/run.lock until the returned function is called, so that two runs never
// share a database (SQLite's leases live in one process).
func lockRun(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "run.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another stepline run is using %s (%v)", dir, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

func (r *projectRun) execute(ctx context.Context, api *apiClient, stdout, stderr io.Writer) int {
	arn := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", r.region, r.account, r.machine)
	if r.definition != "" {
		if err := r.deployFile(ctx, api, arn); err != nil {
			fmt.Fprintf(stderr, "stepline run: %v\n", err)
			return exitInvalid
		}
	}
	start := map[string]string{"stateMachineArn": arn, "input": r.input}
	if r.testCase != "" {
		start["stateMachineArn"] = arn + "#" + r.testCase
	}
	if r.execName != "" {
		start["name"] = r.execName
	}
	var out outcome
	if r.mtype == asl.Express {
		if err := api.states(ctx, "StartSyncExecution", start, &out); err != nil {
			return r.startFailed(err, stderr)
		}
		if r.withHistory {
			fmt.Fprintln(stderr, "stepline run: an EXPRESS execution keeps no history on the server, as on AWS: no \"events\"")
			r.withHistory = false
		}
	} else {
		var started struct {
			ExecutionArn string `json:"executionArn"`
		}
		if err := api.states(ctx, "StartExecution", start, &started); err != nil {
			return r.startFailed(err, stderr)
		}
		var err error
		if out, err = wait(ctx, api, started.ExecutionArn); err != nil {
			fmt.Fprintf(stderr, "stepline run: %v\n", err)
			return exitFailed
		}
	}
	if r.asJSON {
		buf := []byte(`{"status":`)
		buf = jsonv.AppendString(buf, out.Status)
		if out.Output != nil {
			buf = append(append(buf, `,"output":`...), *out.Output...)
		}
		if out.Error != nil {
			buf = jsonv.AppendString(append(buf, `,"error":`...), *out.Error)
		}
		if out.Cause != nil {
			buf = jsonv.AppendString(append(buf, `,"cause":`...), *out.Cause)
		}
		if r.withHistory {
			events, err := history(ctx, api, out.ExecutionArn)
			if err != nil {
				fmt.Fprintf(stderr, "stepline run: %v\n", err)
				return exitFailed
			}
			buf = append(append(buf, `,"events":`...), events...)
		}
		fmt.Fprintf(stdout, "%s}\n", buf)
	} else {
		fmt.Fprintln(stdout, out.Status)
		if out.Output != nil {
			fmt.Fprintln(stdout, *out.Output)
		}
		if out.Error != nil {
			fmt.Fprintf(stdout, "error: %s\n", *out.Error)
		}
		if out.Cause != nil {
			fmt.Fprintf(stdout, "cause: %s\n", *out.Cause)
		}
	}
	if out.Status != "SUCCEEDED" {
		return exitFailed
	}
	return exitOK
}

// startFailed words a refused start: a bad input is the caller's mistake, as without a project.
func (r *projectRun) startFailed(err error, stderr io.Writer) int {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "InvalidExecutionInput" {
		fmt.Fprintf(stderr, "stepline run: InvalidExecutionInput: %s\n", ae.Message)
		return exitInvalid
	}
	fmt.Fprintf(stderr, "stepline run: %v\n", err)
	return exitFailed
}

// deployFile creates, or updates, the state machine of a definition file given instead of a
// name the project declares.
func (r *projectRun) deployFile(ctx context.Context, api *apiClient, arn string) error {
	typ := "STANDARD"
	if r.mtype == asl.Express {
		typ = "EXPRESS"
	}
	role := "arn:aws:iam::" + r.account + ":role/stepline"
	err := api.states(ctx, "CreateStateMachine", map[string]string{"name": r.machine, "definition": r.definition,
		"roleArn": role, "type": typ}, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "StateMachineAlreadyExists" {
		err = api.states(ctx, "UpdateStateMachine", map[string]string{"stateMachineArn": arn, "definition": r.definition}, nil)
	}
	return err
}

// outcome is DescribeExecution's (and StartSyncExecution's) answer, as far as run prints it;
// output is kept as the service wrote it, so that it prints byte for byte.
type outcome struct {
	ExecutionArn string  `json:"executionArn"`
	Status       string  `json:"status"`
	Output       *string `json:"output"`
	Error        *string `json:"error"`
	Cause        *string `json:"cause"`
}

// wait polls the execution until it ended; an interrupted run stops it.
func wait(ctx context.Context, api *apiClient, arn string) (outcome, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		var out outcome
		err := api.states(ctx, "DescribeExecution", map[string]string{"executionArn": arn}, &out)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			return out, err
		case out.Status != "RUNNING":
			return out, nil
		}
		select {
		case <-ctx.Done():
			// The server stops next: stop the execution first, so that it does not stay
			// RUNNING in the run's database.
			_ = api.states(context.Background(), "StopExecution", map[string]string{"executionArn": arn,
				"error": "stepline.Interrupted", "cause": "stepline run was interrupted"}, nil)
			return outcome{}, fmt.Errorf("interrupted: execution %s stopped", arn)
		case <-t.C:
		}
	}
}

// history is the execution's events, every page of GetExecutionHistory, as one JSON array.
func history(ctx context.Context, api *apiClient, arn string) ([]byte, error) {
	buf := []byte{'['}
	in := map[string]any{"executionArn": arn, "maxResults": 1000}
	for {
		var page struct {
			Events    []json.RawMessage `json:"events"`
			NextToken string            `json:"nextToken"`
		}
		if err := api.states(ctx, "GetExecutionHistory", in, &page); err != nil {
			return nil, err
		}
		for _, e := range page.Events {
			if len(buf) > 1 {
				buf = append(buf, ',')
			}
			buf = append(buf, e...)
		}
		if page.NextToken == "" {
			return append(buf, ']'), nil
		}
		in["nextToken"] = page.NextToken
	}
}

// printWhere tells where the run's files are.
func (r *projectRun) printWhere(w io.Writer, db, data string) {
	var names []string
	for _, b := range r.proj.Buckets {
		names = append(names, b.Name)
	}
	if len(names) > 0 {
		fmt.Fprintf(w, "buckets: %s (%s)\n", filepath.Join(data, "s3"), strings.Join(names, ", "))
	}
	fmt.Fprintf(w, "database: %s; look around with: stepline serve --db %s --data %s\n", db, db, data)
}

// catalog lists each declared Glue database's tables, with their partition counts: what the
// execution's crawlers made.
func (r *projectRun) catalog(ctx context.Context, api *apiClient, w io.Writer) {
	for _, d := range r.proj.Glue.Databases {
		var tables struct {
			TableList []struct {
				Name          string
				PartitionKeys []struct{ Name string }
			}
		}
		if err := api.glue(ctx, "GetTables", map[string]string{"DatabaseName": d.Name}, &tables); err != nil {
			fmt.Fprintf(w, "glue database %s: %v\n", d.Name, err)
			continue
		}
		var list []string
		for _, t := range tables.TableList {
			s := t.Name
			if len(t.PartitionKeys) > 0 {
				var parts struct{ Partitions []json.RawMessage }
				if api.glue(ctx, "GetPartitions", map[string]string{"DatabaseName": d.Name, "TableName": t.Name}, &parts) == nil {
					var keys []string
					for _, k := range t.PartitionKeys {
						keys = append(keys, k.Name)
					}
					s += fmt.Sprintf(" (%d partitions by %s)", len(parts.Partitions), strings.Join(keys, ", "))
				}
			}
			list = append(list, s)
		}
		slices.Sort(list)
		if len(list) == 0 {
			list = []string{"no tables"}
		}
		fmt.Fprintf(w, "glue database %s: %s\n", d.Name, strings.Join(list, "; "))
	}
}

// apiClient calls the run's server through the AWS APIs, as any client would.
type apiClient struct {
	url string
}

// apiError is an AWS JSON error answer.
type apiError struct {
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (c *apiClient) states(ctx context.Context, action string, in, out any) error {
	return c.call(ctx, "AWSStepFunctions."+action, "application/x-amz-json-1.0", in, out)
}

func (c *apiClient) glue(ctx context.Context, action string, in, out any) error {
	return c.call(ctx, "AWSGlue."+action, "application/x-amz-json-1.1", in, out)
}

func (c *apiClient) call(ctx context.Context, target, contentType string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) != nil || e.Type == "" {
			return fmt.Errorf("%s: HTTP %d", target, resp.StatusCode)
		}
		if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		return &apiError{Code: e.Type, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
