package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// TestRetention checks that executions are deleted once they ended longer ago than the
// retention, and only those, and that the name of a deleted one can be used again.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	clk := &jumpClock{}
	e := newEngine(t, s, "n1", engine.Options{WaitScale: 1, Clock: clk, Retention: time.Hour, SweepInterval: 10 * time.Millisecond})
	pass := createMachine(t, s, "pass", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	wait := createMachine(t, s, "wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"End":true}}}`)
	done, err := e.StartExecution(ctx, engine.StartParams{StateMachine: pass, Name: "done", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := e.StartExecution(ctx, engine.StartParams{StateMachine: wait, Name: "waiting", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: done.Arn}); err != nil {
		t.Fatalf("an execution within its retention: %v", err)
	}
	if _, err := e.StartExecution(ctx, engine.StartParams{StateMachine: pass, Name: "done", Input: `{"other":1}`}); !errors.Is(err, engine.ErrExecutionExists) {
		t.Fatalf("reusing the name of a kept execution: %v", err)
	}

	clk.offset.Store(int64(2 * time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: done.Arn})
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an execution past its retention is still there: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if x, err := s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: waiting.Arn}); err != nil || x.Status != store.StatusRunning {
		t.Fatalf("a running execution: %+v, %v", x, err)
	}
	again, err := e.StartExecution(ctx, engine.StartParams{StateMachine: pass, Name: "done", Input: `{"other":1}`})
	if err != nil || again.Input != `{"other":1}` {
		t.Fatalf("reusing the name of a deleted execution: %+v, %v", again, err)
	}
}
