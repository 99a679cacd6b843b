package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/jackc/pgx/v5"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// These tests inject real faults under the real binary: a disk that fills up under SQLite, and
// PostgreSQL backends killed under the server's pool. The promise is that the affected
// calls fail with a clear error, the server keeps serving the rest, nothing committed is lost
// and nothing half-written is visible.

// chainDefinition ends within StartExecution's own commit.
const chainDefinition = `{"StartAt":"A","States":{
	"A":{"Type":"Pass","Parameters":{"n.$":"$.n"},"Next":"B"},
	"B":{"Type":"Pass","Result":"b","ResultPath":"$.b","Next":"C"},
	"C":{"Type":"Pass","Result":"c","ResultPath":"$.c","End":true}}}`

func chainOutput(i int) string { return fmt.Sprintf(`{"n":%d,"b":"b","c":"c"}`, i) }

// parkedDefinition waits: its executions are rows with a timer while the fault lasts.
const parkedDefinition = `{"StartAt":"In","States":{
	"In":{"Type":"Pass","Parameters":{"n.$":"$.n"},"Next":"W"},
	"W":{"Type":"Wait","Seconds":2,"Next":"Out"},
	"Out":{"Type":"Pass","Result":"out","ResultPath":"$.out","End":true}}}`

func parkedOutput(i int) string { return fmt.Sprintf(`{"n":%d,"out":"out"}`, i) }

func createMachine(t *testing.T, c *sfn.Client, name, definition string) string {
	t.Helper()
	out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(definition), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.StateMachineArn
}

// noRetryClient talks to n without the SDK's retries, so that every call the test makes is one
// request and its outcome is that request's.
func noRetryClient(n *node) *sfn.Client {
	return sfn.New(sfn.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		BaseEndpoint: aws.String(n.url), RetryMaxAttempts: 1,
	})
}

func start(c *sfn.Client, machine, name, input string) (string, error) {
	out, err := c.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(input),
	})
	if err != nil {
		return "", err
	}
	return *out.ExecutionArn, nil
}

// checkServerError checks that err is an AWS-shaped server error (HTTP 5xx with an error code)
// whose message contains one of want, and returns the code and message.
func checkServerError(t *testing.T, err error, want ...string) (string, string) {
	t.Helper()
	var re *smithyhttp.ResponseError
	var ae smithy.APIError
	if !errors.As(err, &re) || !errors.As(err, &ae) {
		t.Fatalf("want an API error response, got %v", err)
	}
	if st := re.HTTPStatusCode(); st < 500 {
		t.Errorf("HTTP status %d, want 5xx (%v)", st, err)
	}
	msg := strings.ToLower(ae.ErrorMessage())
	ok := false
	for _, w := range want {
		ok = ok || strings.Contains(msg, w)
	}
	if ae.ErrorCode() == "" || !ok {
		t.Errorf("error %s: %q does not say what went wrong (want one of %q)", ae.ErrorCode(), ae.ErrorMessage(), want)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func healthz(n *node) (int, error) {
	resp, err := http.Get(n.url + "/healthz")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted when t ends. It skips t
// where mounting is not allowed (not root, no CAP_SYS_ADMIN, no mount binary).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a %s tmpfs to fill up (needs root or CAP_SYS_ADMIN): %v: %s", size, err, strings.TrimSpace(string(out)))
	}
	// Registered after t.TempDir's own cleanup, so it runs first (cleanups run last in, first
	// out): the directory is unmounted before it is removed.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file at path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); ; {
		_, err := f.Write(buf[:n])
		if errors.Is(err, syscall.ENOSPC) {
			if n == 1 {
				return
			}
			n = max(n/16, 1) // the last blocks
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeFullDiskOnSQLite fills the file system under a served SQLite database: starts fail
// with a clear error while reads, /healthz and the executions already committed carry on; once
// space is freed, starts succeed again and the executions parked meanwhile finish.
func TestServeFullDiskOnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := mountTmpfs(t, "8m")
	bin := buildBinary(t)
	n := startNode(t, bin, "full", "--db", filepath.Join(dir, "stepline.db"))
	c := noRetryClient(n)
	chain := createMachine(t, n.client, "chain", chainDefinition)
	parked := createMachine(t, n.client, "parked", parkedDefinition)

	var chains, parks []string
	for i := range 20 {
		arn, err := start(c, chain, fmt.Sprint("c", i), fmt.Sprintf(`{"n":%d}`, i))
		if err != nil {
			t.Fatalf("StartExecution before the disk filled: %v", err)
		}
		chains = append(chains, arn)
		if arn, err = start(c, parked, fmt.Sprint("p", i), fmt.Sprintf(`{"n":%d}`, i)); err != nil {
			t.Fatalf("StartExecution before the disk filled: %v", err)
		}
		parks = append(parks, arn)
	}

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	// SQLite may still find room in its WAL or its free pages for a while: start until starts
	// fail, and keep starting a few more to see that they go on failing cleanly.
	var failed []string
	started := map[string]int{} // ARN → n of its input
	failures := 0
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; failures < 10; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("StartExecution still succeeds 10s after the disk filled (%d started)", len(started))
		}
		name := fmt.Sprint("f", i)
		arn, err := start(c, chain, name, fmt.Sprintf(`{"n":%d}`, i))
		if err == nil {
			started[arn] = i
			continue
		}
		failures++
		failed = append(failed, name)
		code, msg := checkServerError(t, err, "full", "space")
		if failures == 1 {
			t.Logf("after %d starts on the full disk: %s: %s", len(started), code, msg)
		}
	}

	// Reads go on while the disk is full, and so does /healthz.
	if st, err := healthz(n); err != nil || st != http.StatusOK {
		t.Errorf("/healthz on a full disk: %d, %v", st, err)
	}
	list, err := c.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(chain), MaxResults: 1000})
	if err != nil {
		t.Fatalf("ListExecutions on a full disk: %v", err)
	}
	if len(list.Executions) != len(chains)+len(started) {
		t.Errorf("ListExecutions on a full disk: %d executions, want %d", len(list.Executions), len(chains)+len(started))
	}
	for i, arn := range chains {
		checkEnded(t, c, arn, chainOutput(i), []string{"A", "B", "C"}, 0)
	}
	// The parked executions come due while the disk is still full: their steps cannot commit.
	time.Sleep(2500 * time.Millisecond)
	if _, err := start(c, chain, "still-full", `{"n":0}`); err == nil {
		t.Fatal("StartExecution succeeded with the disk still full: the test filled nothing")
	} else {
		checkServerError(t, err, "full", "space")
		failed = append(failed, "still-full")
	}
	if st, err := healthz(n); err != nil || st != http.StatusOK {
		t.Errorf("/healthz on a full disk: %d, %v", st, err)
	}
	for _, arn := range parks {
		d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("DescribeExecution on a full disk: %v", err)
		}
		if d.Status != types.ExecutionStatusRunning {
			t.Fatalf("%s is %s: its Wait's end was committed on a full disk, so the test filled nothing", arn, d.Status)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	after, err := start(c, chain, "after", `{"n":7}`)
	if err != nil {
		t.Fatalf("StartExecution once space was freed: %v", err)
	}
	checkEnded(t, c, after, chainOutput(7), []string{"A", "B", "C"}, 0)
	for i, arn := range parks {
		checkEnded(t, c, arn, parkedOutput(i), []string{"In", "W", "Out"}, 10*time.Second)
	}
	for arn, i := range started {
		checkEnded(t, c, arn, chainOutput(i), []string{"A", "B", "C"}, 0)
	}
	// Nothing half-written: a start that failed left no execution behind.
	for _, name := range failed {
		_, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{
			ExecutionArn: aws.String(strings.Replace(chain, ":stateMachine:", ":execution:", 1) + ":" + name)})
		var dne *types.ExecutionDoesNotExist
		if !errors.As(err, &dne) {
			t.Errorf("execution %s whose start failed: DescribeExecution gave %v, want ExecutionDoesNotExist", name, err)
		}
	}
	select {
	case <-n.exited:
		t.Fatalf("the server exited:\n%s", n.logs())
	default:
	}
	// The engine backs off while its commits fail: without that it retried the parked
	// executions' steps in a busy loop, some 500 failed commits (and error lines) a second.
	if k := strings.Count(n.logs(), "engine commit failed"); k > 20 {
		t.Errorf("%d failed engine commits logged while the disk was full: the engine does not back off", k)
	}
	n.stop()
}

// unjoin returns the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestServeLostConnectionsOnPostgreSQL kills the server's PostgreSQL backends a few times while
// executions start and run: calls during an outage either succeed or fail with a clear error,
// the pool reconnects by itself, and every execution finishes exactly once.
func TestServeLostConnectionsOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	base, schema, dsn := pgtest.Schema(t)
	// The application name marks this test's connections, so that only they are killed, not
	// those of the tests running beside it on the same server.
	app := "stepline_fault_" + schema
	bin := buildBinary(t)
	// The default lease TTL, not startNode's 2s: an execution whose lease outlived the outage
	// would wait that long, and the 15s below catch it.
	// With PostgreSQL the data folder defaults to ./stepline-data: give one of the test's own.
	n := startNode(t, bin, "pg", "--db", dsn+"&application_name="+app, "--lease-ttl", "30s", "--data", t.TempDir())
	c := noRetryClient(n)
	machine := createWaitMachine(t, n.client)
	admin, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())

	// Three clients start executions side by side while the backends are killed, so that
	// kills land in the middle of starts, claims and commits, not only between them.
	const total, clients = 60, 3
	arns := make([]string, total)
	startErrs := make([]error, total)
	killed := make(chan int, 1)
	go func() {
		sum := 0
		for range 8 {
			time.Sleep(300 * time.Millisecond)
			var k int
			if err := admin.QueryRow(context.Background(),
				`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&k); err != nil {
				t.Errorf("pg_terminate_backend: %v", err)
			}
			sum += k
		}
		killed <- sum
	}()
	var wg sync.WaitGroup
	for g := range clients {
		wg.Go(func() {
			for i := g; i < total; i += clients {
				arns[i], startErrs[i] = start(c, machine, fmt.Sprintf("e%d", i), fmt.Sprintf(`{"n":%d}`, i))
				// Reads during the outage: an answer or a clear error.
				_, err := c.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
				if err != nil {
					startErrs[i] = errors.Join(startErrs[i], err)
				}
				time.Sleep(clients * 2500 * time.Millisecond / total)
			}
		})
	}
	wg.Wait()
	var failed []int
	for i, err := range startErrs {
		if err == nil {
			continue
		}
		for _, err := range unjoin(err) {
			code, msg := checkServerError(t, err, "database")
			t.Logf("e%d during the outage: %s: %s", i, code, msg)
		}
		if arns[i] == "" {
			failed = append(failed, i)
		}
	}
	t.Logf("killed %d backends; %d of %d starts failed", <-killed, len(failed), total)

	// The pool reconnects by itself: /healthz and starts work again without a restart.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := healthz(n)
		if err == nil && st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d, %v 10s after the last kill", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A start that failed may have committed before its connection dropped: starting it again
	// under its name returns it if it still runs, or says it exists.
	for _, i := range failed {
		name := fmt.Sprintf("e%d", i)
		arn, err := start(n.client, machine, name, fmt.Sprintf(`{"n":%d}`, i))
		var exists *types.ExecutionAlreadyExists
		if errors.As(err, &exists) {
			arn, err = strings.Replace(machine, ":stateMachine:", ":execution:", 1)+":"+name, nil
		}
		if err != nil {
			t.Fatalf("StartExecution %s again after the outage: %v", name, err)
		}
		arns[i] = arn
	}
	checkExactlyOnce(t, n.client, arns, 15*time.Second)
	select {
	case <-n.exited:
		t.Fatalf("the server exited:\n%s", n.logs())
	default:
	}
	n.stop()
}
