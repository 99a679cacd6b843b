package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// TestServeMapChildrenSpreadOnPostgreSQL runs a Map Run of 240 EXPRESS children on three nodes
// sharing one PostgreSQL schema: at least two nodes run children, and once one of them is
// killed with SIGKILL, the children it held run again elsewhere and the Map succeeds with every
// item's output and every child execution SUCCEEDED.
func TestServeMapChildrenSpreadOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	nodes := startPostgresNodes(t, buildBinary(t), "a", "b", "c")
	a := nodes[0]
	ctx := context.Background()
	// EXPRESS children 24 at a time: groups of six, four in flight, for the nodes to share.
	machine := createMachine(t, a.client, "spread", waitMap("Spread", "EXPRESS", 24))
	const items = 240
	var in, want []string
	for i := range items {
		in = append(in, strconv.Itoa(i))
		want = append(want, fmt.Sprintf(`{"item":%d,"b":"b"}`, i))
	}
	out, err := a.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine),
		Name: aws.String("spread"), Input: aws.String("[" + strings.Join(in, ",") + "]")})
	if err != nil {
		t.Fatal(err)
	}

	// Wait until two nodes have run children; then kill one that did, other than a.
	var victim *node
	deadline := time.Now().Add(60 * time.Second)
	for victim == nil {
		ran := 0
		for _, n := range nodes {
			if childrenRun(t, n) > 0 {
				ran++
				if n != a {
					victim = n
				}
			}
		}
		if ran < 2 {
			victim = nil
		}
		if victim == nil && time.Now().After(deadline) {
			t.Fatal("no two nodes ran children of the Map Run within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
	requireRunning(t, a.client, machine)
	t.Logf("killing %s after it ran %d children", victim.name, childrenRun(t, victim))
	victim.kill()

	// Its groups come back to the others once their claims lapse (30 s).
	checkEnded(t, a.client, *out.ExecutionArn, "["+strings.Join(want, ",")+"]", []string{"M"}, 120*time.Second)
	runs, err := a.client.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: out.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("ListMapRuns: %+v, %v", runs, err)
	}
	mr, err := a.client.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil {
		t.Fatal(err)
	}
	if mr.Status != types.MapRunStatusSucceeded || mr.ExecutionCounts.Succeeded != items || mr.ItemCounts.Succeeded != items {
		t.Fatalf("Map Run %s, executions %+v, items %+v", mr.Status, *mr.ExecutionCounts, *mr.ItemCounts)
	}
	succeeded := 0
	pages := sfn.NewListExecutionsPaginator(a.client, &sfn.ListExecutionsInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			if e.Status != types.ExecutionStatusSucceeded {
				t.Fatalf("child %s %s", aws.ToString(e.ExecutionArn), e.Status)
			}
			succeeded++
		}
	}
	if succeeded != items {
		t.Fatalf("%d children listed SUCCEEDED, want %d", succeeded, items)
	}
	var ran []string
	for _, n := range nodes {
		if n != victim {
			ran = append(ran, fmt.Sprintf("%s %d", n.name, childrenRun(t, n)))
		}
	}
	t.Logf("children run by the nodes left: %s", strings.Join(ran, ", "))
}

// childrenRun reads a node's count of Map Run children run (stepline_map_children_run_total).
func childrenRun(t *testing.T, n *node) int {
	return metricValue(t, n, "stepline_map_children_run_total")
}

// metricValue reads an unlabelled counter from a node's /metrics.
func metricValue(t *testing.T, n *node, name string) int {
	t.Helper()
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		t.Fatalf("metrics of %s: %v", n.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			c, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("metric line %q", line)
			}
			return c
		}
	}
	t.Fatalf("%s has no %s", n.name, name)
	return 0
}

// TestServeStandardMapRunsOnPostgreSQL: STANDARD children run inside their parent, whose
// steps go to whichever of three nodes sharing one PostgreSQL schema takes its next event;
// killing a node in the middle loses none of them, and every child succeeds once with a
// gap-free history.
func TestServeStandardMapRunsOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	nodes := startPostgresNodes(t, buildBinary(t), "a", "b", "c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	machine := createMachine(t, a.client, "standard-children", waitMap("Items", "STANDARD", 3))
	arns := startMapParents(t, machine, 6, a.client, b.client, c.client)
	time.Sleep(1500 * time.Millisecond) // the first children are done, the next are waiting
	requireRunning(t, b.client, machine)
	a.kill()
	checkMapParents(t, b.client, arns, 6)
	t.Logf("executions leased by the nodes left: b %d, c %d", metricValue(t, b, "stepline_engine_leases_taken_total"),
		metricValue(t, c, "stepline_engine_leases_taken_total"))
}
