package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// TestMapChildrenGroupsWithdrawn: a Map of EXPRESS children, one of which fails at once while
// three others wait on a task, fails; the groups of the three are withdrawn, and the node
// running them learns it at its next renewal and aborts their tasks rather than letting them
// run on for a parent that records nothing more.
func TestMapChildrenGroupsWithdrawn(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	r := newBlockingRunner(`"done"`)
	eng := newEngine(t, s, "n1", engine.Options{Runner: r, TaskClaimTTL: 1500 * time.Millisecond})
	sm := createMachine(t, s, "withdrawn", `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":4,"End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":0,"Next":"F"}],"Default":"T"},
			"F":{"Type":"Fail","Error":"Zero","Cause":"item zero"},
			"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:slow","End":true}}}}}}`)
	ex, err := eng.StartExecution(context.Background(), engine.StartParams{StateMachine: sm, Name: "x", Input: `[1,2,3,0]`})
	if err != nil {
		t.Fatal(err)
	}
	// The three tasks start; item 0's group fails the Map.
	for range 3 {
		select {
		case <-r.started:
		case <-time.After(10 * time.Second):
			t.Fatal("the children's tasks did not start")
		}
	}
	got := waitEnd(t, s, ex.Arn)
	if got.Status != store.StatusFailed || deref(got.Error) != "Zero" {
		t.Fatalf("execution %s %s", got.Status, deref(got.Error))
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.returned.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 3 withdrawn children's tasks were aborted", r.returned.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ids := r.taskIDs(); len(ids) != 3 {
		t.Fatalf("tasks run: %s", strings.Join(ids, " "))
	}
}
