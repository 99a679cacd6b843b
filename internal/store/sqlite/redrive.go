package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

// ExecutionRedrive implements store.Store.
func (s *Store) ExecutionRedrive(ctx context.Context, p *store.ExecutionRedriveParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *wtx) error {
		var id int64
		err := tx.queryRow(ctx, `UPDATE executions SET state = ?, version = version + 1, status = ?, output = ?, error = ?,
			cause = ?, stop_date = ?, lease_owner = NULL, lease_expires_at = NULL
			WHERE arn = ? AND version = ? AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED') RETURNING id`,
			p.State, p.Status, p.Output, p.Error, p.Cause, microPtr(p.StopDate), p.ExecutionArn, p.Version).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("execution %s has not ended redrivably at version %d: %w", p.ExecutionArn, p.Version, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: redrive execution: %w", err)
		}
		ends := p.Status.Terminal()
		if err := s.writeMutations(ctx, tx, id, &p.Mutations, ends); err != nil {
			return err
		}
		if ends {
			return s.clearEnded(ctx, tx, []int64{id})
		}
		return nil
	})
	if errors.Is(err, errRowExists) {
		return fmt.Errorf("execution %s: %w: %w", p.ExecutionArn, store.ErrConflict, err)
	}
	return err
}
