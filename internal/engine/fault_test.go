package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

// errLost stands for a lost database connection.
var errLost = errors.New("database connection lost")

// faultyStore fails the first calls of some methods, as a store whose connection drops for a
// while does.
type faultyStore struct {
	store.Store
	creates, claims, commits, releases atomic.Int64 // calls left to fail
	// lostClaims counts the claims left whose answer is lost after the store carried them out.
	lostClaims atomic.Int64
}

func fail(n *atomic.Int64) bool { return n.Add(-1) >= 0 }

func (s *faultyStore) ExecutionCreateBatch(ctx context.Context, p *store.ExecutionCreateBatchParams) ([]error, error) {
	if fail(&s.creates) {
		return nil, errLost
	}
	return s.Store.ExecutionCreateBatch(ctx, p)
}

func (s *faultyStore) ExecutionClaimDue(ctx context.Context, p *store.ExecutionClaimDueParams) ([]*store.DueExecution, error) {
	if fail(&s.claims) {
		return nil, errLost
	}
	xs, err := s.Store.ExecutionClaimDue(ctx, p)
	if err == nil && len(xs) > 0 && fail(&s.lostClaims) {
		return nil, errLost
	}
	return xs, err
}

func (s *faultyStore) ExecutionLeaseRelease(ctx context.Context, p *store.ExecutionLeaseReleaseParams) error {
	if fail(&s.releases) {
		return errLost
	}
	return s.Store.ExecutionLeaseRelease(ctx, p)
}

func (s *faultyStore) TransitionCommitBatch(ctx context.Context, p *store.TransitionCommitBatchParams) ([]error, error) {
	if fail(&s.commits) {
		return nil, errLost
	}
	return s.Store.TransitionCommitBatch(ctx, p)
}

// TestStoreFaults checks that failing store calls fail only the calls concerned: a start that
// could not be committed reports the store's error and leaves nothing behind, and executions
// whose claims or commits failed finish once the store answers again, exactly once.
func TestStoreFaults(t *testing.T) {
	tests := []struct {
		name                                           string
		creates, claims, commits, releases, lostClaims int64
	}{
		{"starts fail", 2, 0, 0, 0, 0},
		{"claims fail", 0, 3, 0, 0, 0},
		{"commits fail", 0, 0, 3, 0, 0},
		// The leases of the failed commits must not be left to expire (LeaseTTL is 30s, longer
		// than waitEnd waits): the engine releases them again once the store answers.
		{"commits and their lease releases fail", 0, 0, 3, 3, 0},
		// Nor the leases a claim took whose answer never came back.
		{"claims are lost after they leased", 0, 0, 0, 0, 2},
		{"all fail", 1, 2, 2, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := &faultyStore{Store: openSQLite(t, filepath.Join(t.TempDir(), "db"))}
			e := newEngine(t, s, "n1", engine.Options{WaitScale: 0})
			sm := createMachine(t, s, "wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"P"},"P":{"Type":"Pass","End":true}}}`)
			s.creates.Store(tt.creates)
			s.claims.Store(tt.claims)
			s.commits.Store(tt.commits)
			s.releases.Store(tt.releases)
			s.lostClaims.Store(tt.lostClaims)
			var started []string
			for i := range 6 {
				name := fmt.Sprint("e", i)
				ex, err := e.StartExecution(ctx, engine.StartParams{StateMachine: sm, Name: name, Input: `{}`})
				for errors.Is(err, errLost) {
					// Nothing of it was written, so the same name starts it once the store answers.
					ex, err = e.StartExecution(ctx, engine.StartParams{StateMachine: sm, Name: name, Input: `{}`})
				}
				if err != nil {
					t.Fatalf("start %s: %v", name, err)
				}
				started = append(started, ex.Arn)
			}
			for _, arn := range started {
				if ex := waitEnd(t, s, arn); ex.Status != store.StatusSucceeded {
					t.Errorf("%s ended %s", arn, ex.Status)
				}
				checkHistory(t, s, arn)
			}
			for _, n := range []*atomic.Int64{&s.creates, &s.claims, &s.commits, &s.releases, &s.lostClaims} {
				if n.Load() > 0 {
					t.Errorf("%d injected faults never happened", n.Load())
				}
			}
		})
	}
}
