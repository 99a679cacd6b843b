package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The crawl is made long by many small partitions: killTables tables of killParts partitions,
// each table of its own schema (a column named after it), so that Glue does not merge them into
// one. It takes several seconds on a quiet machine; the kill comes once a few tables are written.
const (
	killTables = 80
	killParts  = 40
)

// sleeperScript is the job: it starts a child that outlives it unless something kills it (the
// script itself gets Pdeathsig from the server; the child does not), then sleeps. Both carry the
// run's marker in their command line, for the test to find them in /proc.
const sleeperScript = `import subprocess, sys, time
marker = sys.argv[sys.argv.index("--marker") + 1]
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
time.sleep(600)
`

// pollingDefinition starts the crawler and the job run in two branches and polls each with
// aws-sdk:glue tasks in a Wait + Choice loop until it ends, then outputs the crawler's last crawl
// and the job run: Lambda-free, as the tasks are the server's own Glue.
const pollingDefinition = `{"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
 {"StartAt":"StartCrawler","States":{
  "StartCrawler":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:glue:startCrawler","Parameters":{"Name":"kill-crawler"},
   "ResultPath":null,"Next":"WaitCrawler"},
  "WaitCrawler":{"Type":"Wait","Seconds":1,"Next":"GetCrawler"},
  "GetCrawler":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:glue:getCrawler","Parameters":{"Name":"kill-crawler"},
   "ResultPath":"$.crawler","Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":5}],"Next":"CrawlerReady"},
  "CrawlerReady":{"Type":"Choice","Choices":[{"Variable":"$.crawler.Crawler.State","StringEquals":"READY","Next":"CrawlDone"}],
   "Default":"WaitCrawler"},
  "CrawlDone":{"Type":"Pass","OutputPath":"$.crawler.Crawler.LastCrawl","End":true}}},
 {"StartAt":"StartJobRun","States":{
  "StartJobRun":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:glue:startJobRun",
   "Parameters":{"JobName":"kill-sleeper","Arguments":{"--marker.$":"$.marker"}},"ResultPath":"$.run","Next":"WaitJob"},
  "WaitJob":{"Type":"Wait","Seconds":1,"Next":"GetJobRun"},
  "GetJobRun":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:glue:getJobRun",
   "Parameters":{"JobName":"kill-sleeper","RunId.$":"$.run.JobRunId"},
   "ResultPath":"$.status","Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":5}],"Next":"JobEnded"},
  "JobEnded":{"Type":"Choice","Choices":[{"Or":[
    {"Variable":"$.status.JobRun.JobRunState","StringEquals":"SUCCEEDED"},
    {"Variable":"$.status.JobRun.JobRunState","StringEquals":"FAILED"},
    {"Variable":"$.status.JobRun.JobRunState","StringEquals":"STOPPED"},
    {"Variable":"$.status.JobRun.JobRunState","StringEquals":"TIMEOUT"}],"Next":"JobDone"}],"Default":"WaitJob"},
  "JobDone":{"Type":"Pass","OutputPath":"$.status.JobRun","End":true}}}]}}}`

func glueClient(n *node) *glue.Client {
	return glue.New(glue.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		BaseEndpoint: aws.String(n.url), RetryMaxAttempts: 3,
	})
}

// writeKillData writes the crawl's CSV partitions and the job's script as files of the data
// folder's buckets (a file in a bucket's folder is an object).
func writeKillData(t *testing.T, data string) {
	t.Helper()
	var rows bytes.Buffer
	for tb := range killTables {
		rows.Reset()
		fmt.Fprintf(&rows, "id,name,amount_%d\n", tb)
		for i := range 20 {
			fmt.Fprintf(&rows, "%d,n%d,%d.5\n", i, i, i)
		}
		for p := range killParts {
			dir := filepath.Join(data, "s3", "src", fmt.Sprintf("t%03d", tb), fmt.Sprintf("dt=2024-%02d-%02d", p/28+1, p%28+1))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "part-0.csv"), rows.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(data, "s3", "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "s3", "scripts", "sleeper.py"), []byte(sleeperScript), 0o644); err != nil {
		t.Fatal(err)
	}
}

// markedProcesses lists the live processes whose command line holds marker, as pid → command
// line (a zombie's command line is empty: it is dead, only not reaped).
func markedProcesses(t *testing.T, marker string) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to look for processes in: %v", err)
	}
	out := map[int]string{}
	for _, de := range entries {
		pid, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", de.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(marker)) {
			continue
		}
		out[pid] = strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
	}
	return out
}

// waitFor calls f every 50 ms until it holds, failing the test after within (a bound against a
// hang on a loaded machine, not a timing assertion).
func waitFor(t *testing.T, what string, within time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allTables lists a database's tables, every page.
func allTables(t *testing.T, c *glue.Client, db string) []gluetypes.Table {
	t.Helper()
	var out []gluetypes.Table
	p := glue.NewGetTablesPaginator(c, &glue.GetTablesInput{DatabaseName: aws.String(db)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetTables: %v", err)
		}
		out = append(out, page.TableList...)
	}
	return out
}

// checkTablesComplete checks that every table in the catalog is whole: the columns of its
// files, its partition key, and all its partitions. It returns how many there are.
func checkTablesComplete(t *testing.T, c *glue.Client, when string) int {
	t.Helper()
	tables := allTables(t, c, "killdb")
	for _, tb := range tables {
		name := aws.ToString(tb.Name)
		var n int
		if _, err := fmt.Sscanf(name, "t%03d", &n); err != nil {
			t.Errorf("%s: unexpected table %s", when, name)
			continue
		}
		var cols []string
		for _, col := range tb.StorageDescriptor.Columns {
			cols = append(cols, aws.ToString(col.Name)+" "+aws.ToString(col.Type))
		}
		if got, want := strings.Join(cols, ", "), fmt.Sprintf("id bigint, name string, amount_%d double", n); got != want {
			t.Errorf("%s: table %s has columns %s, want %s", when, name, got, want)
		}
		if len(tb.PartitionKeys) != 1 || aws.ToString(tb.PartitionKeys[0].Name) != "dt" {
			t.Errorf("%s: table %s has partition keys %+v, want dt", when, name, tb.PartitionKeys)
		}
		parts := 0
		p := glue.NewGetPartitionsPaginator(c, &glue.GetPartitionsInput{DatabaseName: aws.String("killdb"), TableName: tb.Name})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("GetPartitions %s: %v", name, err)
			}
			parts += len(page.Partitions)
		}
		if parts != killParts {
			t.Errorf("%s: table %s has %d partitions, want all %d (a half-written table)", when, name, parts, killParts)
		}
	}
	return len(tables)
}

// TestServeGlueSurvivesKill9OnSQLite kills the server while a crawl writes its tables and a
// Python shell job run sleeps, with a state machine polling both. The restarted node (same
// --node, database and --data) must find the catalog consistent (every table there whole), the
// crawler READY with its last crawl FAILED saying it was interrupted, the run FAILED saying so,
// no process of the run left on the machine (the script by Pdeathsig, what it started by the
// restart), and the state machine carrying on to its end with those outcomes.
func TestServeGlueSurvivesKill9OnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeKillData(t, data)
	args := []string{"--db", filepath.Join(dir, "glue.db"), "--data", data}
	first := startNode(t, bin, "glue-node", args...)
	ctx := context.Background()
	gc := glueClient(first)
	if _, err := gc.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("killdb")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.CreateCrawler(ctx, &glue.CreateCrawlerInput{Name: aws.String("kill-crawler"), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		DatabaseName: aws.String("killdb"), Targets: &gluetypes.CrawlerTargets{S3Targets: []gluetypes.S3Target{{Path: aws.String("s3://src/")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.CreateJob(ctx, &glue.CreateJobInput{Name: aws.String("kill-sleeper"), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		Command: &gluetypes.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://scripts/sleeper.py")}}); err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	marker := "stepline-kill-marker-" + hex.EncodeToString(b[:])
	machine := createMachine(t, first.client, "glue-poller", pollingDefinition)
	out, err := first.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("poll"),
		Input: aws.String(fmt.Sprintf(`{"marker":%q}`, marker))})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ExecutionArn)

	// The kill comes when both start tasks are recorded (a start dispatched again after the
	// restart would start a new crawl or run), the job's script and its child are running, and
	// the crawl has written some tables but not all.
	waitFor(t, "the execution to poll both", 60*time.Second, func() bool {
		return hasStateEntered(t, first.client, arn, "WaitCrawler") && hasStateEntered(t, first.client, arn, "WaitJob")
	})
	waitFor(t, "the job's script and its child", 60*time.Second, func() bool { return len(markedProcesses(t, marker)) >= 2 })
	waitFor(t, "the crawl's first tables", 60*time.Second, func() bool {
		tb, err := gc.GetTables(ctx, &glue.GetTablesInput{DatabaseName: aws.String("killdb")})
		return err == nil && len(tb.TableList) > 0
	})
	c, err := gc.GetCrawler(ctx, &glue.GetCrawlerInput{Name: aws.String("kill-crawler")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Crawler.State != gluetypes.CrawlerStateRunning {
		t.Fatalf("the crawl ended (%s, %+v) before the kill: it is too short for this machine; raise killTables", c.Crawler.State, c.Crawler.LastCrawl)
	}
	before := markedProcesses(t, marker)
	first.kill()

	// Pdeathsig: the script dies with the server; its child is left for the restart.
	waitFor(t, "the job's script to die with the server", 30*time.Second, func() bool {
		for _, cmdline := range markedProcesses(t, marker) {
			if strings.Contains(cmdline, "sleeper.py") {
				return false
			}
		}
		return true
	})
	t.Logf("processes of the run: %d before the kill, %d after it", len(before), len(markedProcesses(t, marker)))

	second := startNode(t, bin, "glue-node", args...)
	gc = glueClient(second)
	waitFor(t, "no process of the interrupted run", 30*time.Second, func() bool { return len(markedProcesses(t, marker)) == 0 })
	if left, _ := os.ReadDir(filepath.Join(data, "glue", "runs")); len(left) > 0 {
		t.Errorf("the interrupted run's folder is left under glue/runs: %s", left[0].Name())
	}

	c, err = gc.GetCrawler(ctx, &glue.GetCrawlerInput{Name: aws.String("kill-crawler")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Crawler.State != gluetypes.CrawlerStateReady || c.Crawler.LastCrawl == nil || c.Crawler.LastCrawl.Status != gluetypes.LastCrawlStatusFailed ||
		!strings.Contains(aws.ToString(c.Crawler.LastCrawl.ErrorMessage), "interrupted") {
		t.Errorf("crawler after the restart: %s %+v, want READY with its last crawl FAILED, interrupted", c.Crawler.State, c.Crawler.LastCrawl)
	}
	runs, err := gc.GetJobRuns(ctx, &glue.GetJobRunsInput{JobName: aws.String("kill-sleeper")})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.JobRuns) != 1 || runs.JobRuns[0].JobRunState != gluetypes.JobRunStateFailed ||
		!strings.Contains(aws.ToString(runs.JobRuns[0].ErrorMessage), "interrupted") || runs.JobRuns[0].CompletedOn == nil {
		t.Errorf("job runs after the restart: %+v, want one FAILED, interrupted", runs.JobRuns)
	}
	t.Logf("the kill found %d of %d tables written", checkTablesComplete(t, gc, "after the kill"), killTables)

	// The execution carries on: its polls see the crawler READY and the run FAILED, and it ends.
	var d *sfn.DescribeExecutionOutput
	waitFor(t, "the execution to end", 120*time.Second, func() bool {
		d, err = second.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return d.Status != types.ExecutionStatusRunning
	})
	if d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution ended %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var res []struct {
		Status, ErrorMessage, JobRunState string
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &res); err != nil || len(res) != 2 {
		t.Fatalf("execution output %s: %v", aws.ToString(d.Output), err)
	}
	if res[0].Status != "FAILED" || !strings.Contains(res[0].ErrorMessage, "interrupted") ||
		res[1].JobRunState != "FAILED" || !strings.Contains(res[1].ErrorMessage, "interrupted") {
		t.Errorf("execution output %s: want the crawl and the run FAILED, interrupted", aws.ToString(d.Output))
	}

	// Crawled again, the catalog is whole: every table with all its partitions.
	interrupted := c.Crawler.LastCrawl.StartTime
	if _, err := gc.StartCrawler(ctx, &glue.StartCrawlerInput{Name: aws.String("kill-crawler")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second crawl", 180*time.Second, func() bool {
		c, err = gc.GetCrawler(ctx, &glue.GetCrawlerInput{Name: aws.String("kill-crawler")})
		if err != nil {
			t.Fatal(err)
		}
		return c.Crawler.State == gluetypes.CrawlerStateReady && c.Crawler.LastCrawl.StartTime.After(aws.ToTime(interrupted))
	})
	if c.Crawler.LastCrawl.Status != gluetypes.LastCrawlStatusSucceeded {
		t.Fatalf("second crawl: %+v", c.Crawler.LastCrawl)
	}
	if n := checkTablesComplete(t, gc, "after the second crawl"); n != killTables {
		t.Errorf("after the second crawl: %d tables, want %d", n, killTables)
	}
	second.stop()
}

// syncDefinition runs the sleeper job with glue:startJobRun.sync, catching its failure.
const syncDefinition = `{"StartAt":"Run","States":{
 "Run":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync",
  "Parameters":{"JobName":"kill-sleeper","Arguments":{"--marker.$":"$.marker"}},
  "Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.failure","Next":"JobFailed"}],"End":true},
 "JobFailed":{"Type":"Pass","OutputPath":"$.failure","End":true}}}`

// TestServeGlueSyncTaskSurvivesKill9OnSQLite kills the server while a glue:startJobRun.sync
// task waits for its run. The task is dispatched again after the restart: it must wait for the
// run it started, now FAILED as interrupted, and fail with it (caught), not start a second run.
func TestServeGlueSyncTaskSurvivesKill9OnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "s3", "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "s3", "scripts", "sleeper.py"), []byte(sleeperScript), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--db", filepath.Join(dir, "glue.db"), "--data", data}
	first := startNode(t, bin, "glue-sync", args...)
	ctx := context.Background()
	if _, err := glueClient(first).CreateJob(ctx, &glue.CreateJobInput{Name: aws.String("kill-sleeper"), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		Command: &gluetypes.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://scripts/sleeper.py")}}); err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	marker := "stepline-sync-marker-" + hex.EncodeToString(b[:])
	machine := createMachine(t, first.client, "glue-sync", syncDefinition)
	out, err := first.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("sync"),
		Input: aws.String(fmt.Sprintf(`{"marker":%q}`, marker))})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ExecutionArn)
	waitFor(t, "the task's submission", 60*time.Second, func() bool { return hasEvent(t, first.client, arn, types.HistoryEventTypeTaskSubmitted) })
	waitFor(t, "the job's script", 60*time.Second, func() bool { return len(markedProcesses(t, marker)) >= 2 })
	first.kill()

	second := startNode(t, bin, "glue-sync", args...)
	gc := glueClient(second)
	waitFor(t, "no process of the interrupted run", 30*time.Second, func() bool { return len(markedProcesses(t, marker)) == 0 })
	var d *sfn.DescribeExecutionOutput
	waitFor(t, "the execution to end", 120*time.Second, func() bool {
		d, err = second.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return d.Status != types.ExecutionStatusRunning
	})
	runs, err := gc.GetJobRuns(ctx, &glue.GetJobRunsInput{JobName: aws.String("kill-sleeper")})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.JobRuns) != 1 || runs.JobRuns[0].JobRunState != gluetypes.JobRunStateFailed {
		for _, r := range runs.JobRuns {
			t.Logf("run %s %s %s", aws.ToString(r.Id), r.JobRunState, aws.ToString(r.ErrorMessage))
		}
		t.Fatalf("%d job runs after the restart, want the one the task started, FAILED", len(runs.JobRuns))
	}
	var failure struct{ Error, Cause string }
	if d.Status != types.ExecutionStatusSucceeded || json.Unmarshal([]byte(aws.ToString(d.Output)), &failure) != nil ||
		failure.Error != "States.TaskFailed" || !strings.Contains(failure.Cause, aws.ToString(runs.JobRuns[0].Id)) ||
		!strings.Contains(failure.Cause, "interrupted") {
		t.Errorf("execution %s with output %s: want the task failed with the interrupted run", d.Status, aws.ToString(d.Output))
	}
	second.stop()
}

// hasStateEntered reports whether the execution's history shows state entered.
func hasStateEntered(t *testing.T, c *sfn.Client, arn, state string) bool {
	t.Helper()
	h, err := c.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range h.Events {
		if ev.StateEnteredEventDetails != nil && aws.ToString(ev.StateEnteredEventDetails.Name) == state {
			return true
		}
	}
	return false
}
