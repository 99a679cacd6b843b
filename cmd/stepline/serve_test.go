package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// These tests run the real binary: they build it, start `stepline serve`, kill it with
// SIGKILL in the middle of executions, and check that every execution still finishes exactly
// once.

// buildBinary builds stepline into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stepline")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// node is one running `stepline serve` process.
type node struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	url    string
	client *sfn.Client
	exited chan struct{}
	logMu  sync.Mutex
	log    strings.Builder
}

func (n *node) Write(p []byte) (int, error) {
	n.logMu.Lock()
	defer n.logMu.Unlock()
	return n.log.Write(p)
}

func (n *node) logs() string {
	n.logMu.Lock()
	defer n.logMu.Unlock()
	return n.log.String()
}

// startNode starts `stepline serve` and waits for its "listening on" line.
func startNode(t *testing.T, bin, name string, args ...string) *node {
	t.Helper()
	n := &node{t: t, name: name, exited: make(chan struct{})}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--wait-scale", "1", "--node", name, "--lease-ttl", "2s"}, args...)
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stderr = n
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
				t.Errorf("%s printed more than one line on stdout: %q", name, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			t.Logf("%s log:\n%s", name, n.logs())
		}
	})
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "listening on http://")
		if !ok {
			t.Fatalf("%s printed %q, want \"listening on http://ADDR\"", name, line)
		}
		n.url = "http://" + addr
	case <-n.exited:
		t.Fatalf("%s exited before listening:\n%s", name, n.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start listening:\n%s", name, n.logs())
	}
	// The SDK's standard retries stay on, as for any real client: a keep-alive connection that the
	// loaded machine drops ("use of closed network connection", seen once in CI-like runs) is a
	// transport hiccup, not a crash-recovery failure, and every call here is safe to retry.
	n.client = sfn.New(sfn.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		BaseEndpoint: aws.String(n.url), RetryMaxAttempts: 3,
	})
	return n
}

// kill ends the process with SIGKILL, the crash the engine must survive.
func (n *node) kill() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		n.t.Fatal(err)
	}
	<-n.exited
}

// stop ends the process with SIGTERM and checks it exits cleanly.
func (n *node) stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatal(err)
	}
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.t.Fatalf("%s did not stop on SIGTERM", n.name)
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		n.t.Errorf("%s exited with %d after SIGTERM:\n%s", n.name, code, n.logs())
	}
}

// waitDefinition passes through two one-second Wait states, so that executions are spread
// over time when the process dies.
const waitDefinition = `{"StartAt":"Init","States":{
	"Init":{"Type":"Pass","Parameters":{"n.$":"$.n","tag":"x"},"Next":"W1"},
	"W1":{"Type":"Wait","Seconds":1,"Next":"Mid"},
	"Mid":{"Type":"Pass","Result":"mid","ResultPath":"$.mid","Next":"W2"},
	"W2":{"Type":"Wait","Seconds":1,"Next":"Done"},
	"Done":{"Type":"Pass","Result":"done","ResultPath":"$.end","End":true}}}`

func wantOutput(i int) string { return fmt.Sprintf(`{"n":%d,"tag":"x","mid":"mid","end":"done"}`, i) }

func createWaitMachine(t *testing.T, c *sfn.Client) string {
	t.Helper()
	out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String("crashy"), Definition: aws.String(waitDefinition), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.StateMachineArn
}

// startSpread starts n executions over about a second, through the given clients in turn.
func startSpread(t *testing.T, machine string, n int, clients ...*sfn.Client) []string {
	t.Helper()
	arns := make([]string, n)
	for i := range n {
		out, err := clients[i%len(clients)].StartExecution(context.Background(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(machine), Name: aws.String(fmt.Sprintf("e%d", i)), Input: aws.String(fmt.Sprintf(`{"n":%d}`, i)),
		})
		if err != nil {
			t.Fatalf("StartExecution %d: %v", i, err)
		}
		arns[i] = *out.ExecutionArn
		time.Sleep(time.Second / time.Duration(n))
	}
	return arns
}

// requireRunning checks that the kill to come hits executions in flight.
func requireRunning(t *testing.T, c *sfn.Client, machine string) {
	t.Helper()
	out, err := c.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine), StatusFilter: types.ExecutionStatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Executions) == 0 {
		t.Fatal("no execution is running: the kill would prove nothing")
	}
	t.Logf("%d executions running at the kill", len(out.Executions))
}

// checkExactlyOnce waits (within in all) for every execution to succeed with its output, and
// checks its history (see checkEnded).
func checkExactlyOnce(t *testing.T, c *sfn.Client, arns []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for i, arn := range arns {
		checkEnded(t, c, arn, wantOutput(i), []string{"Init", "W1", "Mid", "W2", "Done"}, time.Until(deadline))
	}
}

// checkEnded waits for arn to end and checks that it succeeded with want, and that its history
// has ids 1..N, each state entered once and one terminal event, last.
func checkEnded(t *testing.T, c *sfn.Client, arn, want string, states []string, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	var d *sfn.DescribeExecutionOutput
	for {
		var err error
		if d, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
			t.Fatalf("DescribeExecution %s: %v", arn, err)
		}
		if d.Status != types.ExecutionStatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still RUNNING after %v", arn, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != want {
		t.Errorf("%s ended %s with output %s, want SUCCEEDED %s", arn, d.Status, aws.ToString(d.Output), want)
	}
	h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	if err != nil {
		t.Fatalf("GetExecutionHistory %s: %v", arn, err)
	}
	entered := map[string]int{}
	terminal := 0
	for j, ev := range h.Events {
		if ev.Id != int64(j+1) {
			t.Errorf("%s: event %d has id %d", arn, j+1, ev.Id)
		}
		if ev.StateEnteredEventDetails != nil {
			entered[*ev.StateEnteredEventDetails.Name]++
		}
		switch ev.Type {
		case types.HistoryEventTypeExecutionSucceeded, types.HistoryEventTypeExecutionFailed,
			types.HistoryEventTypeExecutionAborted, types.HistoryEventTypeExecutionTimedOut:
			terminal++
			if j != len(h.Events)-1 {
				t.Errorf("%s: terminal event %d is not the last of %d", arn, j+1, len(h.Events))
			}
		}
	}
	if terminal != 1 {
		t.Errorf("%s: %d terminal events, want 1", arn, terminal)
	}
	for _, s := range states {
		if entered[s] != 1 {
			t.Errorf("%s: state %s entered %d times, want once", arn, s, entered[s])
		}
	}
}

func TestServeSurvivesKill9OnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "crash.db")
	first := startNode(t, bin, "first", "--db", db)
	machine := createWaitMachine(t, first.client)
	arns := startSpread(t, machine, 50, first.client)
	time.Sleep(700 * time.Millisecond) // some executions are in W1, others in W2
	requireRunning(t, first.client, machine)
	first.kill()

	second := startNode(t, bin, "second", "--db", db)
	checkExactlyOnce(t, second.client, arns, 60*time.Second)
	second.stop()
}

// TestServeThreeNodesOnPostgreSQL runs three nodes on one PostgreSQL schema, kills one in the
// middle of executions, and checks that the other two finish them all exactly once.
func TestServeThreeNodesOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	nodes := startPostgresNodes(t, buildBinary(t), "a", "b", "c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	machine := createWaitMachine(t, a.client)
	arns := startSpread(t, machine, 60, a.client, b.client, c.client)
	time.Sleep(700 * time.Millisecond)
	requireRunning(t, a.client, machine)
	a.kill()
	checkExactlyOnce(t, b.client, arns, 90*time.Second)
	b.stop()
	c.stop()
}

// waitMap is a distributed Map whose children of executionType pass through a one-second
// Wait, maxConcurrency at a time, so that a kill finds children running, waiting and not
// started. A child's output is {"item":ITEM,"b":"b"}.
func waitMap(label, executionType string, maxConcurrency int) string {
	return fmt.Sprintf(`{"StartAt":"M","States":{"M":{"Type":"Map","Label":%q,"MaxConcurrency":%d,"End":true,
	"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":%q},"StartAt":"A","States":{
		"A":{"Type":"Pass","Parameters":{"item.$":"$"},"Next":"W"},
		"W":{"Type":"Wait","Seconds":1,"Next":"B"},
		"B":{"Type":"Pass","Result":"b","ResultPath":"$.b","End":true}}}}}}`, label, maxConcurrency, executionType)
}

// TestServeMapRunSurvivesKill9OnSQLite kills the server while distributed Maps run, and checks
// on the restarted one that every parent succeeds once and every child execution too, each
// with a gap-free history of its own.
func TestServeMapRunSurvivesKill9OnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "crash.db")
	first := startNode(t, bin, "first", "--db", db)
	sm, err := first.client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String("mapped"), Definition: aws.String(waitMap("Items", "STANDARD", 3)), RoleArn: aws.String("arn:aws:iam::123456789012:role/r")})
	if err != nil {
		t.Fatal(err)
	}
	const items = 6
	arns := startMapParents(t, *sm.StateMachineArn, 5, first.client)
	time.Sleep(1500 * time.Millisecond) // the first children are done, the next are waiting
	requireRunning(t, first.client, *sm.StateMachineArn)
	first.kill()

	second := startNode(t, bin, "second", "--db", db)
	checkMapParents(t, second.client, arns, items)
	second.stop()
}

// startMapParents starts n executions of machine over the items 1 to 6, through the clients in
// turn.
func startMapParents(t *testing.T, machine string, n int, clients ...*sfn.Client) []string {
	t.Helper()
	var arns []string
	for i := range n {
		out, err := clients[i%len(clients)].StartExecution(context.Background(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(machine), Name: aws.String(fmt.Sprintf("p%d", i)), Input: aws.String(`[1,2,3,4,5,6]`)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, *out.ExecutionArn)
	}
	return arns
}

// checkMapParents waits for every parent of waitMap's machine to succeed once, and checks its
// Map Run's items child executions: each succeeded once, with a gap-free history of its own.
func checkMapParents(t *testing.T, c *sfn.Client, arns []string, items int) {
	t.Helper()
	ctx := context.Background()
	var outputs []string
	for i := 1; i <= items; i++ {
		outputs = append(outputs, fmt.Sprintf(`{"item":%d,"b":"b"}`, i))
	}
	for _, arn := range arns {
		checkEnded(t, c, arn, "["+strings.Join(outputs, ",")+"]", []string{"M"}, 60*time.Second)
		runs, err := c.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String(arn)})
		if err != nil || len(runs.MapRuns) != 1 {
			t.Fatalf("ListMapRuns %s: %+v, %v", arn, runs, err)
		}
		kids, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: runs.MapRuns[0].MapRunArn})
		if err != nil || len(kids.Executions) != items {
			t.Fatalf("children of %s: %+v, %v", arn, kids, err)
		}
		for _, k := range kids.Executions {
			d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: k.ExecutionArn})
			if err != nil {
				t.Fatal(err)
			}
			item := strings.TrimSpace(aws.ToString(d.Input))
			checkEnded(t, c, *k.ExecutionArn, `{"item":`+item+`,"b":"b"}`, []string{"A", "W", "B"}, time.Second)
		}
	}
}

// startPostgresNodes starts a node of bin for each name on one new PostgreSQL schema
// (STEPLINE_TEST_POSTGRES; the test is skipped without it). Nodes sharing a database share a
// data folder, as they would on a shared file system; by default it would be ./stepline-data,
// here the test's folder.
func startPostgresNodes(t *testing.T, bin string, names ...string) []*node {
	t.Helper()
	_, _, dsn := pgtest.Schema(t)
	data := filepath.Join(t.TempDir(), "data")
	var nodes []*node
	for _, name := range names {
		nodes = append(nodes, startNode(t, bin, name, "--db", dsn, "--data", data))
	}
	return nodes
}
