package glue

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/stepline/stepline/internal/store"
)

func (e *env) createJob(t *testing.T, name, command, script string, maxConcurrent int32, timeout int32, defaults map[string]string) {
	t.Helper()
	e.write(t, "scripts/"+name+".py", []byte(script))
	in := &glue.CreateJobInput{Name: aws.String(name), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		Command:          &types.JobCommand{Name: aws.String(command), ScriptLocation: aws.String("s3://scripts/" + name + ".py")},
		DefaultArguments: defaults}
	if maxConcurrent > 0 {
		in.ExecutionProperty = &types.ExecutionProperty{MaxConcurrentRuns: maxConcurrent}
	}
	if timeout > 0 {
		in.Timeout = aws.Int32(timeout)
	}
	if _, err := e.client.CreateJob(ctx(t), in); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
}

func (e *env) startRun(t *testing.T, job string, args map[string]string) string {
	t.Helper()
	out, err := e.client.StartJobRun(ctx(t), &glue.StartJobRunInput{JobName: aws.String(job), Arguments: args})
	if err != nil {
		t.Fatalf("StartJobRun: %v", err)
	}
	return aws.ToString(out.JobRunId)
}

func (e *env) waitRun(t *testing.T, job, id string, until func(types.JobRunState) bool) *types.JobRun {
	t.Helper()
	var r *types.JobRun
	poll(t, "run "+id, func() bool {
		out, err := e.client.GetJobRun(ctx(t), &glue.GetJobRunInput{JobName: aws.String(job), RunId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		r = out.JobRun
		return until(r.JobRunState)
	})
	return r
}

func ended(s types.JobRunState) bool { return runEnded(string(s)) }

const argvScript = `import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
                  "key": os.environ.get("AWS_ACCESS_KEY_ID"), "region": os.environ.get("AWS_REGION")}))
`

func TestJobRunSucceeds(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "j", "pythonshell", argvScript, 0, 0, map[string]string{"--source": "s3://raw/", "--day": "1"})
	id := e.startRun(t, "j", map[string]string{"--day": "2", "--extra": "x y"})
	if !strings.HasPrefix(id, "jr_") || len(id) != 67 {
		t.Errorf("run id %q is not of Glue's shape", id)
	}
	r := e.waitRun(t, "j", id, ended)
	if r.JobRunState != types.JobRunStateSucceeded || r.StartedOn == nil || r.CompletedOn == nil || r.ErrorMessage != nil ||
		r.Attempt != 0 || r.Arguments["--day"] != "2" {
		t.Fatalf("run = %+v", r)
	}
	out, err := os.ReadFile(filepath.Join(e.dir, "glue", "logs", "python-jobs", "output", id))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Argv                  []string
		Endpoint, Key, Region string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	want := []string{"--day", "2", "--extra", "x y", "--source", "s3://raw/", "--JOB_ID", got.Argv[7], "--JOB_RUN_ID", id, "--JOB_NAME", "j"}
	if !slices.Equal(got.Argv, want) || !strings.HasPrefix(got.Argv[7], "j_") {
		t.Errorf("argv = %q, want %q", got.Argv, want)
	}
	if got.Endpoint != e.url || got.Key != "AKIDSTEPLINE" || got.Region != "us-east-1" {
		t.Errorf("environment = %+v", got)
	}
	runs, err := e.client.GetJobRuns(ctx(t), &glue.GetJobRunsInput{JobName: aws.String("j")})
	if err != nil || len(runs.JobRuns) != 1 {
		t.Fatalf("GetJobRuns = %+v, %v", runs, err)
	}
	// Runs list newest first.
	id2 := e.startRun(t, "j", nil)
	e.waitRun(t, "j", id2, ended)
	runs, err = e.client.GetJobRuns(ctx(t), &glue.GetJobRunsInput{JobName: aws.String("j")})
	if err != nil || len(runs.JobRuns) != 2 || aws.ToString(runs.JobRuns[0].Id) != id2 {
		t.Fatalf("GetJobRuns order: %+v, %v", runs, err)
	}
}

func TestJobRunFails(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "bad", "pythonshell", "import sys\nprint('working')\nraise ValueError('no rows for day ' + sys.argv[2])\n", 0, 0, nil)
	r := e.waitRun(t, "bad", e.startRun(t, "bad", map[string]string{"--day": "7"}), ended)
	if r.JobRunState != types.JobRunStateFailed || aws.ToString(r.ErrorMessage) != "ValueError: no rows for day 7" {
		t.Fatalf("failed run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	// No script at the ScriptLocation.
	if _, err := e.client.CreateJob(ctx(t), &glue.CreateJobInput{Name: aws.String("noscript"), Role: aws.String("r"),
		Command: &types.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://scripts/none.py")}}); err != nil {
		t.Fatal(err)
	}
	r = e.waitRun(t, "noscript", e.startRun(t, "noscript", nil), ended)
	if r.JobRunState != types.JobRunStateFailed || !strings.Contains(aws.ToString(r.ErrorMessage), "s3://scripts/none.py") {
		t.Fatalf("run without a script = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	// Spark jobs without a configured command.
	e.createJob(t, "spark", "glueetl", "print(1)\n", 0, 0, nil)
	r = e.waitRun(t, "spark", e.startRun(t, "spark", nil), ended)
	if r.JobRunState != types.JobRunStateFailed || !strings.Contains(aws.ToString(r.ErrorMessage), "need a configured command") {
		t.Fatalf("glueetl run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	if _, err := e.client.StartJobRun(ctx(t), &glue.StartJobRunInput{JobName: aws.String("nope")}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("StartJobRun of a missing job: %v", err)
	}
}

func TestJobRunRetries(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "flaky", "pythonshell", "raise SystemExit('boom')\n", 0, 0, nil)
	if _, err := e.client.UpdateJob(ctx(t), &glue.UpdateJobInput{JobName: aws.String("flaky"), JobUpdate: &types.JobUpdate{
		Role: aws.String("r"), Command: &types.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://scripts/flaky.py")},
		MaxRetries: 1}}); err != nil {
		t.Fatal(err)
	}
	first := e.startRun(t, "flaky", nil)
	poll(t, "the retry", func() bool {
		runs, err := e.client.GetJobRuns(ctx(t), &glue.GetJobRunsInput{JobName: aws.String("flaky")})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs.JobRuns) == 2 && ended(runs.JobRuns[0].JobRunState)
	})
	runs, _ := e.client.GetJobRuns(ctx(t), &glue.GetJobRunsInput{JobName: aws.String("flaky")})
	retry := runs.JobRuns[0]
	if retry.Attempt != 1 || aws.ToString(retry.PreviousRunId) != first || retry.JobRunState != types.JobRunStateFailed ||
		aws.ToString(retry.ErrorMessage) != "boom" {
		t.Fatalf("retry = %+v", retry)
	}
}

const sleepScript = "import time\nprint('started', flush=True)\ntime.sleep(600)\n"

func TestJobRunTimeout(t *testing.T) {
	e := newEnv(t) // a minute of Timeout lasts 200 ms here
	e.createJob(t, "slow", "pythonshell", sleepScript, 0, 1, nil)
	r := e.waitRun(t, "slow", e.startRun(t, "slow", nil), ended)
	if r.JobRunState != types.JobRunStateTimeout || !strings.Contains(aws.ToString(r.ErrorMessage), "timed out") {
		t.Fatalf("timed out run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
}

func TestJobRunStopAndConcurrency(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "slow", "pythonshell", sleepScript, 1, 0, nil)
	id := e.startRun(t, "slow", nil)
	if _, err := e.client.StartJobRun(ctx(t), &glue.StartJobRunInput{JobName: aws.String("slow")}); apiCode(err) != "ConcurrentRunsExceededException" {
		t.Fatalf("second run of a job with MaxConcurrentRuns 1: %v", err)
	}
	e.waitRun(t, "slow", id, func(s types.JobRunState) bool { return s == types.JobRunStateRunning })
	out, err := e.client.BatchStopJobRun(ctx(t), &glue.BatchStopJobRunInput{JobName: aws.String("slow"), JobRunIds: []string{id, "jr_nope"}})
	if err != nil || len(out.SuccessfulSubmissions) != 1 || len(out.Errors) != 1 {
		t.Fatalf("BatchStopJobRun = %+v, %v", out, err)
	}
	r := e.waitRun(t, "slow", id, ended)
	if r.JobRunState != types.JobRunStateStopped || r.CompletedOn == nil {
		t.Fatalf("stopped run = %+v", r)
	}
	// The slot is free again.
	id2 := e.startRun(t, "slow", nil)
	e.waitRun(t, "slow", id2, func(s types.JobRunState) bool { return s == types.JobRunStateRunning })
	out, err = e.client.BatchStopJobRun(ctx(t), &glue.BatchStopJobRunInput{JobName: aws.String("slow"), JobRunIds: []string{id}})
	if err != nil || len(out.Errors) != 1 {
		t.Fatalf("stopping an ended run: %+v, %v", out, err)
	}
	// Close kills the process and records the run's end.
	e.svc.Close()
	ent, err := e.st.GlueGet(ctx(t), &store.GlueGetParams{Kind: store.GlueJobRun, Parent: "slow", Name: id2})
	if err != nil || ent.Active {
		t.Fatalf("run after Close: %+v, %v", ent, err)
	}
	var jr JobRun
	_ = json.Unmarshal(ent.Doc, &jr)
	if jr.JobRunState != runFailed || !strings.Contains(jr.ErrorMessage, "interrupted") {
		t.Fatalf("run after Close = %s %q", jr.JobRunState, jr.ErrorMessage)
	}
}

// A run left RUNNING by a crash of its node ends FAILED when that node starts again, and the
// processes its script left behind (marked with the run's id) are killed; another node's run,
// and its processes, are left alone.
func TestJobRunRecoveredAfterCrash(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "j", "pythonshell", "print(1)\n", 0, 0, nil)
	now := e.svc.o.Clock.Now()
	exited := map[string]chan error{}
	for _, owner := range []string{"local", "node-b"} {
		doc, _ := json.Marshal(JobRun{ID: "jr_" + owner, JobName: "j", JobRunState: runRunning, StartedOn: at(now)})
		if _, err := e.st.GlueCreate(ctx(t), &store.GlueCreateParams{Kind: store.GlueJobRun, Parent: "j", Name: "jr_" + owner, Doc: doc,
			Active: true, Owner: owner, Now: now}); err != nil {
			t.Fatal(err)
		}
		// The run's folder, as a run killed with its server leaves it.
		e.write(t, "../glue/runs/jr_"+owner+"/script.py", []byte("print(1)\n"))
		// A process as a script's child would be after the server died: its own, with the
		// run's id in its environment.
		cmd := exec.Command("sleep", "300")
		cmd.Env = append(os.Environ(), runIDVar+"=jr_"+owner)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
		exited[owner] = done
	}
	// A run asked to stop before the crash ends as the stop would have ended it.
	doc, _ := json.Marshal(JobRun{ID: "jr_stopping", JobName: "j", JobRunState: runStopping, StartedOn: at(now)})
	if _, err := e.st.GlueCreate(ctx(t), &store.GlueCreateParams{Kind: store.GlueJobRun, Parent: "j", Name: "jr_stopping", Doc: doc,
		Active: true, Owner: "local", Now: now}); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	stopping, err := e.client.GetJobRun(ctx(t), &glue.GetJobRunInput{JobName: aws.String("j"), RunId: aws.String("jr_stopping")})
	if err != nil || stopping.JobRun.JobRunState != types.JobRunStateStopped || stopping.JobRun.CompletedOn == nil {
		t.Fatalf("recovered stopping run = %+v, %v", stopping, err)
	}
	select {
	case err := <-exited["local"]:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("the interrupted run's process ended with %v, want killed", err)
		}
		exited["local"] <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("the interrupted run's process is still alive after Start")
	}
	select {
	case err := <-exited["node-b"]:
		t.Fatalf("another node's run's process ended: %v", err)
	default:
	}
	if _, err := os.Stat(filepath.Join(e.dir, "glue", "runs", "jr_local")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the interrupted run's folder is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "glue", "runs", "jr_node-b")); err != nil {
		t.Errorf("another node's run's folder: %v", err)
	}
	mine, err := e.client.GetJobRun(ctx(t), &glue.GetJobRunInput{JobName: aws.String("j"), RunId: aws.String("jr_local")})
	if err != nil || mine.JobRun.JobRunState != types.JobRunStateFailed || !strings.Contains(aws.ToString(mine.JobRun.ErrorMessage), "interrupted") {
		t.Fatalf("recovered run = %+v, %v", mine, err)
	}
	theirs, _ := e.client.GetJobRun(ctx(t), &glue.GetJobRunInput{JobName: aws.String("j"), RunId: aws.String("jr_node-b")})
	if theirs.JobRun.JobRunState != types.JobRunStateRunning {
		t.Fatalf("another node's run = %s", theirs.JobRun.JobRunState)
	}
}

func TestJobLifecycle(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "j", "pythonshell", "print(1)\n", 3, 0, nil)
	got, err := e.client.GetJob(ctx(t), &glue.GetJobInput{JobName: aws.String("j")})
	if err != nil || got.Job.ExecutionProperty.MaxConcurrentRuns != 3 || aws.ToInt32(got.Job.Timeout) != 2880 ||
		aws.ToString(got.Job.Command.PythonVersion) != "3.9" || aws.ToFloat64(got.Job.MaxCapacity) != 0.0625 {
		t.Fatalf("GetJob = %+v, %v", got.Job, err)
	}
	if _, err := e.client.CreateJob(ctx(t), &glue.CreateJobInput{Name: aws.String("j"), Role: aws.String("r"),
		Command: &types.JobCommand{Name: aws.String("pythonshell")}}); apiCode(err) != "AlreadyExistsException" {
		t.Fatalf("duplicate job: %v", err)
	}
	jobs, err := e.client.GetJobs(ctx(t), &glue.GetJobsInput{})
	if err != nil || len(jobs.Jobs) != 1 {
		t.Fatalf("GetJobs = %+v, %v", jobs, err)
	}
	if _, err := e.client.DeleteJob(ctx(t), &glue.DeleteJobInput{JobName: aws.String("j")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetJob(ctx(t), &glue.GetJobInput{JobName: aws.String("j")}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("deleted job: %v", err)
	}
}

// Work of a node that stopped renewing its lease is ended by another node.
func TestExpiredLeases(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "j", "pythonshell", "print(1)\n", 0, 0, nil)
	e.createCrawler(t, "c", "db", "", "", "s3://b/")
	setCrawler(t, e, "c", "RUNNING", "node-b")
	old := e.svc.o.Clock.Now().Add(-time.Hour)
	for id, state := range map[string]string{"jr_b": runRunning, "jr_b_stopping": runStopping} {
		doc, _ := json.Marshal(JobRun{ID: id, JobName: "j", JobRunState: state, StartedOn: at(old)})
		if _, err := e.st.GlueCreate(ctx(t), &store.GlueCreateParams{Kind: store.GlueJobRun, Parent: "j", Name: id, Doc: doc,
			Active: true, Owner: "node-b", Now: old}); err != nil {
			t.Fatal(err)
		}
	}
	e.start(t, func(o *Options) { o.LeaseTTL = 300 * time.Millisecond; o.NodeID = "node-a" })
	r := e.waitRun(t, "j", "jr_b", ended)
	if r.JobRunState != types.JobRunStateFailed || !strings.Contains(aws.ToString(r.ErrorMessage), "node-b") {
		t.Fatalf("run of a dead node = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	if r := e.waitRun(t, "j", "jr_b_stopping", ended); r.JobRunState != types.JobRunStateStopped {
		t.Fatalf("run of a dead node, asked to stop = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	poll(t, "the dead node's crawl", func() bool {
		out, err := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("c")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Crawler.State == types.CrawlerStateReady
	})
	out, _ := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("c")})
	if out.Crawler.LastCrawl.Status != types.LastCrawlStatusFailed || !strings.Contains(aws.ToString(out.Crawler.LastCrawl.ErrorMessage), "lease") {
		t.Fatalf("crawl of a dead node = %+v", out.Crawler.LastCrawl)
	}
}

// A script's boto3 calls reach the server through AWS_ENDPOINT_URL, with no endpoint argument,
// as scripts written for AWS make them.
func TestJobRunCallsBackWithBoto3(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "cb", "pythonshell", `import sys, boto3
run_id = sys.argv[sys.argv.index("--JOB_RUN_ID") + 1]
glue = boto3.client("glue")
glue.create_database(DatabaseInput={"Name": "made_by_job"})
run = glue.get_job_run(JobName="cb", RunId=run_id)["JobRun"]
glue.create_table(DatabaseName="made_by_job", TableInput={"Name": run["JobRunState"].lower()})
`, 0, 0, nil)
	r := e.waitRun(t, "cb", e.startRun(t, "cb", nil), ended)
	if r.JobRunState != types.JobRunStateSucceeded {
		t.Fatalf("run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	if tb := e.table(t, "made_by_job", "running"); aws.ToString(tb.DatabaseName) != "made_by_job" {
		t.Fatalf("table made by the job = %+v", tb)
	}
}

// A glueetl job runs under the configured Spark command, with the script and Glue's arguments
// after it.
func TestSparkJobRunsConfiguredCommand(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SparkCommand = []string{"python3", "-u"} })
	e.createJob(t, "etl", "glueetl", argvScript, 0, 0, map[string]string{"--mode": "full"})
	id := e.startRun(t, "etl", nil)
	r := e.waitRun(t, "etl", id, ended)
	if r.JobRunState != types.JobRunStateSucceeded || aws.ToString(r.LogGroupName) != "/aws-glue/jobs" {
		t.Fatalf("run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	out, err := os.ReadFile(filepath.Join(e.dir, "glue", "logs", "jobs", "output", id))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Argv []string }
	if err := json.Unmarshal(out, &got); err != nil || len(got.Argv) != 8 || got.Argv[0] != "--mode" || got.Argv[7] != "etl" {
		t.Fatalf("argv = %q, %v", got.Argv, err)
	}
}

// Scripts import awsglue.utils.getResolvedOptions as on Glue.
func TestJobRunResolvesOptions(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "opts", "pythonshell", `import sys
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["JOB_NAME", "day"])
print(args["JOB_NAME"], args["day"])
`, 0, 0, map[string]string{"--day": "2024-01-01"})
	id := e.startRun(t, "opts", nil)
	if r := e.waitRun(t, "opts", id, ended); r.JobRunState != types.JobRunStateSucceeded {
		t.Fatalf("run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	out, err := os.ReadFile(filepath.Join(e.dir, "glue", "logs", "python-jobs", "output", id))
	if err != nil || string(out) != "opts 2024-01-01\n" {
		t.Fatalf("output %q, %v", out, err)
	}
	e.createJob(t, "missing", "pythonshell", `import sys
from awsglue.utils import getResolvedOptions
getResolvedOptions(sys.argv, ["day"])
`, 0, 0, nil)
	r := e.waitRun(t, "missing", e.startRun(t, "missing", nil), ended)
	if r.JobRunState != types.JobRunStateFailed || !strings.Contains(aws.ToString(r.ErrorMessage), "--day") {
		t.Fatalf("run without its option = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
}

// StartJobRunOnce starts one run per token: the same token answers the same run (a Step
// Functions task dispatched again after a crash), a token whose run was reserved but not made
// makes it, and a deleted job's tokens go with it.
func TestStartJobRunOnce(t *testing.T) {
	e := newEnv(t)
	e.createJob(t, "j", "pythonshell", "print(1)\n", 5, 0, nil)
	start := func(token string) string {
		t.Helper()
		out, err := e.svc.StartJobRunOnce(ctx(t), token, []byte(`{"JobName":"j","Arguments":{"--a":"1"}}`))
		if err != nil {
			t.Fatalf("StartJobRunOnce %s: %v", token, err)
		}
		var res struct{ JobRunId string }
		if err := json.Unmarshal(out, &res); err != nil || res.JobRunId == "" {
			t.Fatalf("StartJobRunOnce answered %s: %v", out, err)
		}
		return res.JobRunId
	}
	first := start("exec#task-1")
	if again := start("exec#task-1"); again != first {
		t.Fatalf("the same token started %s, then %s", first, again)
	}
	other := start("exec#task-2")
	if other == first {
		t.Fatal("another token answered the first token's run")
	}
	e.waitRun(t, "j", first, ended)
	if again := start("exec#task-1"); again != first {
		t.Fatalf("after the run ended, the token started %s, not %s", again, first)
	}
	// A token whose run was not made (its caller stopped in between) makes it, with its id.
	reserved := newRunID(e.svc.o.Clock.Now())
	if _, err := e.st.GlueCreate(ctx(t), &store.GlueCreateParams{Kind: kindRunToken, Parent: "j", Name: "exec#task-3",
		Doc: []byte(reserved), Now: e.svc.o.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := start("exec#task-3"); got != reserved {
		t.Fatalf("the reserved run is %s, want %s", got, reserved)
	}
	r := e.waitRun(t, "j", reserved, ended)
	if r.JobRunState != types.JobRunStateSucceeded || r.Arguments["--a"] != "1" {
		t.Fatalf("the reserved run: %s %v", r.JobRunState, r.Arguments)
	}
	runs, err := e.client.GetJobRuns(ctx(t), &glue.GetJobRunsInput{JobName: aws.String("j")})
	if err != nil || len(runs.JobRuns) != 3 {
		t.Fatalf("GetJobRuns: %d runs, %v; want 3", len(runs.JobRuns), err)
	}
	if _, err := e.client.DeleteJob(ctx(t), &glue.DeleteJobInput{JobName: aws.String("j")}); err != nil {
		t.Fatal(err)
	}
	e.createJob(t, "j", "pythonshell", "print(1)\n", 5, 0, nil)
	if got := start("exec#task-1"); got == first {
		t.Fatal("a deleted job's token answered its old run")
	}
	if _, err := e.svc.StartJobRunOnce(ctx(t), "t", []byte(`{"JobName":"missing"}`)); apiCode(err) != "" || !strings.Contains(err.Error(), "EntityNotFoundException") {
		t.Fatalf("StartJobRunOnce of a missing job: %v", err)
	}
}
