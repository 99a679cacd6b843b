package service

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// TestRedrivable checks DescribeExecution's redriveStatusReason for each reason an execution
// cannot be redriven.
func TestRedrivable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &Service{o: Options{Store: st, Clock: &clock.Fake{T: now}}}
	const machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
	if _, err := st.StateMachineCreate(ctx, &store.StateMachineCreateParams{Arn: machine, Name: "m", Type: store.StateMachineStandard,
		CreatedAt: now.Add(-2 * interp.MaxDuration), Revision: store.Revision{RevisionID: "r", Definition: "{}"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		status     store.ExecutionStatus
		start      time.Duration // before now
		stop       time.Duration // before now
		lastEvent  int
		redrives   int64
		wantReason string // "" when redrivable
	}{
		{"failed an hour ago", store.StatusFailed, 2 * time.Hour, time.Hour, 10, 0, ""},
		{"timed out, redriven before", store.StatusTimedOut, 2 * time.Hour, time.Hour, 10, 3, ""},
		{"running", store.StatusRunning, time.Hour, 0, 10, 0, "Execution is RUNNING and cannot be redriven"},
		{"succeeded", store.StatusSucceeded, 2 * time.Hour, time.Hour, 10, 0, "Execution is SUCCEEDED and cannot be redriven"},
		{"ended 15 days ago", store.StatusAborted, 16 * 24 * time.Hour, 15 * 24 * time.Hour, 10, 0, "Execution redrivable period exceeded"},
		{"started a year ago", store.StatusFailed, interp.MaxDuration, time.Hour, 10, 0, "Execution has exceeded the max execution time"},
		{"history full", store.StatusFailed, 2 * time.Hour, time.Hour, interp.MaxHistoryEvents - 1, 0, "Execution history event limit exceeded"},
		{"redriven the most times", store.StatusFailed, 2 * time.Hour, time.Hour, 10, interp.MaxRedrives,
			fmt.Sprintf("Execution was redriven %d times, the most it can be", interp.MaxRedrives)},
	}
	for i, tt := range tests {
		p := &store.ExecutionCreateParams{Arn: fmt.Sprint("arn:aws:states:us-east-1:123456789012:execution:m:e", i),
			StateMachineArn: machine, RevisionID: "r", Name: fmt.Sprint("e", i), Type: store.StateMachineStandard,
			Input: "{}", StartDate: now.Add(-tt.start), State: []byte("s"), Status: tt.status}
		if tt.status.Terminal() {
			stop := now.Add(-tt.stop)
			p.StopDate = &stop
		}
		p.Events = []*store.HistoryEvent{{ID: int64(tt.lastEvent), Type: "PassStateEntered", Timestamp: p.StartDate, Payload: []byte("{}")}}
		x, err := st.ExecutionCreate(ctx, p)
		if err != nil {
			t.Fatalf("%s: ExecutionCreate: %v", tt.name, err)
		}
		var r *store.Redrives
		if tt.redrives > 0 {
			r = &store.Redrives{Count: tt.redrives, Date: now}
		}
		ok, reason, err := s.Redrivable(ctx, x, r)
		if err != nil || ok != (tt.wantReason == "") || reason != tt.wantReason {
			t.Errorf("%s: Redrivable = %v, %q, %v; want reason %q", tt.name, ok, reason, err, tt.wantReason)
		}
	}
}
