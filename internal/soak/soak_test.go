// Package soak holds the soak test: `stepline serve` (the built binary) on SQLite under a mix of
// executions with waits, Lambda tasks, Map states and S3 traffic for a long time, checking that
// every execution finishes exactly once and that the server's resources stay flat.
//
// It runs only with STEPLINE_SOAK set to a duration (scripts/soak.sh DURATION sets it):
//
//	STEPLINE_SOAK=10m go test ./internal/soak -run Soak -v -timeout 0
//
// STEPLINE_BIN names a built stepline binary (default: built from this checkout);
// STEPLINE_SOAK_CSV, a file for the samples.
package soak

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// definition: a Wait, a Lambda task, a Map of Lambda tasks, and an S3 put and get through the
// SDK integrations.
const definition = `{
  "StartAt": "Wait",
  "States": {
    "Wait": {"Type": "Wait", "Seconds": 2, "Next": "Echo"},
    "Echo": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Parameters": {"FunctionName": "soak-echo", "Payload.$": "$"},
             "ResultSelector": {"n.$": "$.Payload.n"}, "ResultPath": "$.echo", "Next": "Fan"},
    "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 3,
            "ItemProcessor": {"StartAt": "Item", "States": {
              "Item": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": "soak-echo", "Payload": {"n.$": "$"}},
                       "OutputPath": "$.Payload.n", "End": true}}},
            "ResultPath": "$.fan", "Next": "Put"},
    "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": "soak", "Key.$": "States.Format('exec/{}', $$.Execution.Name)", "Body.$": "States.JsonToString($.fan)"},
            "ResultPath": null, "Next": "Get"},
    "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "soak", "Key.$": "States.Format('exec/{}', $$.Execution.Name)"},
            "ResultSelector": {"body.$": "$.Body"}, "ResultPath": "$.got", "End": true}
  }
}`

const echoPy = `def handler(event, context):
    return {"n": event["n"] if isinstance(event, dict) and "n" in event else event}
`

// sample is one reading of the server's resources.
type sample struct {
	at         time.Duration
	rssKB      int64
	goroutines int64
	fds        int
	dbBytes    int64
	children   int
	started    int64
	finished   int64
}

func TestSoak(t *testing.T) {
	v := os.Getenv("STEPLINE_SOAK")
	if v == "" {
		t.Skip("STEPLINE_SOAK (a duration) not set")
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("STEPLINE_SOAK: %v", err)
	}
	bin := os.Getenv("STEPLINE_BIN")
	dir := t.TempDir()
	if bin == "" {
		bin = filepath.Join(dir, "stepline")
		out, err := exec.Command("go", "build", "-o", bin, "../../cmd/stepline").CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	db := filepath.Join(dir, "soak.db")
	// A short retention deletes the executions soon after they end (the engine sweeps once a
	// minute), so that the database stops growing: ended executions are otherwise kept 90 days.
	const retention = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-level", "warn", "--retention", retention.String())
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log (last 4 KiB):\n%s", tail(b, 4096))
		}
	}()
	url, err := listening(stdout)
	if err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Logf("stepline serve pid %d on %s, soaking for %s", pid, url, dur)

	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 5}
	sf := sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(url) })
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(url) })
	sc := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(url); o.UsePathStyle = true })

	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("soak-echo"),
		Role: aws.String("arn:aws:iam::123456789012:role/soak"), Runtime: ltypes.RuntimePython312, Handler: aws.String("app.handler"),
		Code: &ltypes.FunctionCode{ZipFile: zipOf(t, "app.py", echoPy)}, Timeout: aws.Int32(10)}); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("soak")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	sm, err := sf.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("soak"), Definition: aws.String(definition),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/soak")})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}

	// A schedule firing every minute (EventBridge Scheduler), into a machine of its own so
	// that its executions are counted apart.
	scheduled := ""
	ec := scheduler.NewFromConfig(cfg, func(o *scheduler.Options) { o.BaseEndpoint = aws.String(url) })
	if ssm, err := sf.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("soak-scheduled"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/soak")}); err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	} else if _, err := ec.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("soak-every-minute"),
		ScheduleExpression: aws.String("rate(1 minute)"), FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target: &schedtypes.Target{Arn: ssm.StateMachineArn, RoleArn: aws.String("arn:aws:iam::123456789012:role/soak"), Input: aws.String(`{}`)}}); err != nil {
		t.Logf("no schedules in this soak: CreateSchedule: %v", err)
	} else {
		scheduled = *ssm.StateMachineArn
	}
	scheduleStart := time.Now()

	var (
		started, finished, failed, s3ops, errs atomic.Int64
		mu                                     sync.Mutex
		firstErrs                              []string
		pending                                = map[string]bool{} // execution ARN → not yet seen finished
	)
	noteErr := func(what string, err error) {
		errs.Add(1)
		mu.Lock()
		if len(firstErrs) < 20 {
			firstErrs = append(firstErrs, what+": "+err.Error())
		}
		mu.Unlock()
	}
	load, stopLoad := context.WithTimeout(ctx, dur)
	defer stopLoad()
	var wg sync.WaitGroup
	// Starters: keep about 24 executions in flight (each takes 2 s of Wait and a few Lambda calls).
	inflight := make(chan struct{}, 24)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case inflight <- struct{}{}:
				case <-load.Done():
					return
				}
				name := fmt.Sprintf("e%d-%d", w, i)
				out, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(name),
					Input: aws.String(fmt.Sprintf(`{"n":%d,"items":[1,2,3,4,5]}`, i))})
				if err != nil {
					<-inflight
					noteErr("StartExecution", err)
					continue
				}
				started.Add(1)
				mu.Lock()
				pending[*out.ExecutionArn] = true
				mu.Unlock()
				wg.Add(1)
				go func(arn string) {
					defer wg.Done()
					defer func() { <-inflight }()
					for {
						d, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
						if err != nil {
							noteErr("DescribeExecution", err)
						} else if d.Status != types.ExecutionStatusRunning {
							mu.Lock()
							was := pending[arn]
							delete(pending, arn)
							mu.Unlock()
							if !was {
								noteErr("finish", fmt.Errorf("%s seen finished twice", arn))
							}
							finished.Add(1)
							if d.Status != types.ExecutionStatusSucceeded {
								failed.Add(1)
								noteErr("execution", fmt.Errorf("%s %s: %s %s", arn, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause)))
							}
							return
						}
						select {
						case <-ctx.Done():
							return
						case <-time.After(500 * time.Millisecond):
						}
					}
				}(*out.ExecutionArn)
			}
		}()
	}
	// S3: puts and gets of 256 KiB objects, checked.
	wg.Add(1)
	go func() {
		defer wg.Done()
		body := make([]byte, 256<<10)
		_, _ = rand.Read(body)
		for i := 0; load.Err() == nil; i++ {
			key := fmt.Sprintf("obj/%d", i%50)
			if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("soak"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
				noteErr("PutObject", err)
				continue
			}
			g, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("soak"), Key: aws.String(key)})
			if err != nil {
				noteErr("GetObject", err)
				continue
			}
			got, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				noteErr("GetObject", fmt.Errorf("body differs (%d bytes, %v)", len(got), err))
			}
			s3ops.Add(2)
			select {
			case <-load.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	// Sampler: every 10 s.
	var samples []sample
	begin := time.Now()
	take := func() {
		s := sample{at: time.Since(begin).Round(time.Second), started: started.Load(), finished: finished.Load()}
		s.rssKB = procStatus(pid, "VmRSS:")
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		s.fds = len(ents)
		s.goroutines = metric(url, "go_goroutines")
		for _, f := range []string{db, db + "-wal"} {
			if fi, err := os.Stat(f); err == nil {
				s.dbBytes += fi.Size()
			}
		}
		s.children = children(pid)
		samples = append(samples, s)
		t.Logf("%6s rss %7d KiB  goroutines %5d  fds %4d  db %8d KiB  children %2d  started %6d finished %6d",
			s.at, s.rssKB, s.goroutines, s.fds, s.dbBytes>>10, s.children, s.started, s.finished)
	}
	take()
	tick := time.NewTicker(10 * time.Second)
loop:
	for {
		select {
		case <-tick.C:
			take()
		case <-load.Done():
			break loop
		}
	}
	tick.Stop()
	// Let every started execution finish (a Wait of 2 s and a few calls each).
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Errorf("executions still running 2 minutes after the load stopped: %d", started.Load()-finished.Load())
	}
	take()
	writeCSV(t, samples)

	// Every execution finished exactly once: the watchers saw each end once, and the server
	// lists none running. It lists at most as many as were started: those that ended more than
	// the retention ago are deleted.
	var listed, running int
	pager := sfn.NewListExecutionsPaginator(sf, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		for _, e := range page.Executions {
			listed++
			if e.Status == types.ExecutionStatusRunning {
				running++
			}
		}
	}
	mu.Lock()
	left := len(pending)
	mu.Unlock()
	t.Logf("executions started %d, finished %d, failed %d, listed %d, running %d; S3 operations %d; errors %d",
		started.Load(), finished.Load(), failed.Load(), listed, running, s3ops.Load(), errs.Load())
	for _, e := range firstErrs {
		t.Logf("error: %s", e)
	}
	if started.Load() == 0 || finished.Load() != started.Load() || left != 0 || int64(listed) > started.Load() || running != 0 {
		t.Errorf("executions: started %d, finished %d, unfinished %d, listed %d, running %d",
			started.Load(), finished.Load(), left, listed, running)
	}
	if scheduled != "" {
		// Fired once a minute, each fire one execution, each finished. Only the fires of the
		// last minutes are still listed (the retention), so the count is bounded, not exact.
		if _, err := ec.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("soak-every-minute")}); err != nil {
			t.Errorf("DeleteSchedule: %v", err)
		}
		minutes := int(time.Since(scheduleStart) / time.Minute)
		var fired, ok int
		pager := sfn.NewListExecutionsPaginator(sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(scheduled)})
		for pager.HasMorePages() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListExecutions: %v", err)
			}
			for _, e := range page.Executions {
				fired++
				if e.Status == types.ExecutionStatusSucceeded {
					ok++
				}
			}
		}
		t.Logf("schedule: %d minutes, %d executions started by it, %d succeeded", minutes, fired, ok)
		if (minutes >= 2 && fired == 0) || fired > minutes+1 || ok != fired {
			t.Errorf("schedule fired %d executions (%d succeeded) in %d minutes", fired, ok, minutes)
		}
	}
	if errs.Load() != 0 {
		t.Errorf("%d errors", errs.Load())
	}
	if resp, err := http.Get(url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz after the soak: %v %v", resp, err)
	}
	checkFlat(t, samples)
}

// checkFlat compares the last quarter of the samples taken under load with the second: after
// warm-up, RSS, goroutines, open files and the database must not grow.
func checkFlat(t *testing.T, all []sample) {
	s := all[:len(all)-1] // the last one is after the load
	if len(s) < 8 {
		t.Logf("only %d samples under load: too few to judge flatness", len(s))
		return
	}
	q := len(s) / 4
	second, last := s[q:2*q], s[len(s)-q:]
	mean := func(xs []sample, f func(sample) float64) float64 {
		var sum float64
		for _, x := range xs {
			sum += f(x)
		}
		return sum / float64(len(xs))
	}
	for _, c := range []struct {
		name  string
		f     func(sample) float64
		ratio float64
		slack float64
	}{
		{"RSS KiB", func(x sample) float64 { return float64(x.rssKB) }, 1.25, 16 << 10},
		{"goroutines", func(x sample) float64 { return float64(x.goroutines) }, 1.25, 50},
		{"open files", func(x sample) float64 { return float64(x.fds) }, 1.25, 20},
		// The database with its WAL: with the retention, rows of deleted executions free pages
		// that SQLite reuses, so it levels off once the first executions are swept (retention
		// plus a sweep: two minutes). Unbounded growth, linear in time, would make the last
		// quarter's mean over twice the second's (7/8 against 3/8 of the run); 1.5 lets the
		// level reached vary with the load. The slack covers the WAL file, which a checkpoint
		// rewinds but does not shrink (up to ~1000 pages of 4 KiB past the checkpoint).
		{"db KiB", func(x sample) float64 { return float64(x.dbBytes >> 10) }, 1.5, 8 << 10},
	} {
		a, b := mean(second, c.f), mean(last, c.f)
		t.Logf("%s: second-quarter mean %.0f, last-quarter mean %.0f", c.name, a, b)
		if b > a*c.ratio+c.slack {
			t.Errorf("%s grew: second quarter %.0f, last quarter %.0f", c.name, a, b)
		}
	}
}

func writeCSV(t *testing.T, s []sample) {
	path := os.Getenv("STEPLINE_SOAK_CSV")
	if path == "" {
		return
	}
	var b strings.Builder
	b.WriteString("seconds,rss_kib,goroutines,fds,db_kib,children,started,finished\n")
	for _, x := range s {
		fmt.Fprintf(&b, "%d,%d,%d,%d,%d,%d,%d,%d\n", int(x.at.Seconds()), x.rssKB, x.goroutines, x.fds, x.dbBytes>>10, x.children, x.started, x.finished)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("STEPLINE_SOAK_CSV: %v", err)
	}
}

// listening reads the server's "listening on URL" line.
func listening(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return strings.TrimSpace(u), nil
		}
	}
	return "", errors.New("the server ended before listening")
}

func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// children counts the processes whose parent is pid (function processes): each thread lists
// the children it started.
func children(pid int) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err == nil {
			n += len(strings.Fields(string(b)))
		}
	}
	return n
}

// metric reads one gauge of /metrics.
func metric(url, name string) int64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return -1
}

func zipOf(t *testing.T, name, body string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
