package storetest

import (
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// testInvalidParams checks that both drivers refuse the same malformed calls the same way,
// before any of them reaches the database.
func testInvalidParams(t *testing.T, s store.Store) {
	ctx := t.Context()
	later := t0.Add(time.Minute)
	running := func(mod func(*store.Transition)) error {
		tr := &store.Transition{ExecutionArn: "arn", LeaseOwner: nodeA, Version: 1, Status: store.StatusRunning}
		mod(tr)
		_, err := s.TransitionCommitBatch(ctx, &store.TransitionCommitBatchParams{Transitions: []*store.Transition{tr}})
		return err
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"commit without lease owner", func() error { return running(func(tr *store.Transition) { tr.LeaseOwner = "" }) }},
		{"commit with unknown status", func() error { return running(func(tr *store.Transition) { tr.Status = "DONE" }) }},
		{"commit ending without stop date", func() error {
			return running(func(tr *store.Transition) { tr.Status = store.StatusFailed })
		}},
		{"commit inserting effects without a time", func() error {
			return running(func(tr *store.Transition) {
				tr.EffectsInsert = []*store.EffectInsert{{EffectID: "e", Kind: "k", IdempotencyKey: "k"}}
			})
		}},
		{"lease expiring at once", func() error {
			_, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Owner: nodeA, Now: t0, ExpiresAt: t0, Arns: []string{"a"}})
			return err
		}},
		{"lease without owner", func() error {
			_, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Now: t0, ExpiresAt: later, Arns: []string{"a"}})
			return err
		}},
		{"takeover without limit", func() error {
			_, err := s.ExecutionLeaseAcquire(ctx, &store.ExecutionLeaseAcquireParams{Owner: nodeA, Now: t0, ExpiresAt: later})
			return err
		}},
		{"effect claim ending at once", func() error {
			_, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: t0, ClaimUntil: t0, Limit: 1})
			return err
		}},
		{"due execution claim without owner", func() error {
			_, err := s.ExecutionClaimDue(ctx, &store.ExecutionClaimDueParams{Now: t0, ExpiresAt: later, Limit: 1})
			return err
		}},
		{"due execution claim without limit", func() error {
			_, err := s.ExecutionClaimDue(ctx, &store.ExecutionClaimDueParams{Owner: nodeA, Now: t0, ExpiresAt: later})
			return err
		}},
		{"due execution lease ending at once", func() error {
			_, err := s.ExecutionClaimDue(ctx, &store.ExecutionClaimDueParams{Owner: nodeA, Now: t0, ExpiresAt: t0, Limit: 1})
			return err
		}},
		{"effect claim without limit", func() error {
			_, err := s.EffectClaim(ctx, &store.EffectClaimParams{Now: t0, ClaimUntil: later})
			return err
		}},
		{"inbox claim into the past", func() error {
			_, err := s.InboxClaim(ctx, &store.InboxClaimParams{Now: later, ClaimUntil: t0, Limit: 1})
			return err
		}},
		{"execution without start date", func() error {
			_, err := s.ExecutionCreate(ctx, &store.ExecutionCreateParams{Arn: "a", StateMachineArn: "m", RevisionID: "r",
				Name: "n", Type: store.StateMachineStandard})
			return err
		}},
		{"state machine of unknown type", func() error {
			_, err := s.StateMachineCreate(ctx, &store.StateMachineCreateParams{Arn: "a", Name: "n", Type: "BATCH",
				CreatedAt: t0, Revision: store.Revision{RevisionID: "r", Definition: "{}"}})
			return err
		}},
		{"negative page size", func() error {
			_, err := s.ExecutionList(ctx, &store.ExecutionListParams{StateMachineArn: "m", Limit: -1})
			return err
		}},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, tt.call(), store.ErrInvalidParams)
	}
}
