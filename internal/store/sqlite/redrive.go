package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
		if _, err := tx.exec(ctx, `INSERT INTO execution_redrives (execution_id, redrive_count, redrive_date) VALUES (?, 1, ?)
			ON CONFLICT (execution_id) DO UPDATE SET redrive_count = redrive_count + 1, redrive_date = excluded.redrive_date`,
			id, micro(p.Now)); err != nil {
			return fmt.Errorf("sqlite: redrive execution: %w", err)
		}
		if p.ClientToken != "" {
			if err := recordRedriveToken(ctx, tx, id, p.ClientToken, micro(p.Now)); err != nil {
				return err
			}
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

// ExecutionRedriveGet implements store.Store.
func (s *Store) ExecutionRedriveGet(ctx context.Context, p *store.ExecutionRedriveGetParams) (*store.Redrives, error) {
	var r store.Redrives
	var date int64
	err := s.r.QueryRowContext(ctx, `SELECT r.redrive_count, r.redrive_date FROM execution_redrives r
		JOIN executions e ON e.id = r.execution_id WHERE e.arn = ?`, p.Arn).Scan(&r.Count, &date)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("redrives of %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get redrives: %w", err)
	}
	r.Date = fromMicro(date)
	return &r, nil
}

// recordRedriveToken records a redrive's client token, forgetting the execution's tokens
// beyond the last store.RedriveTokensKept.
func recordRedriveToken(ctx context.Context, tx *wtx, id int64, token string, date int64) error {
	if _, err := tx.exec(ctx, `INSERT INTO execution_redrive_tokens (execution_id, client_token, redrive_date)
		VALUES (?, ?, ?) ON CONFLICT (execution_id, client_token) DO UPDATE SET redrive_date = excluded.redrive_date`,
		id, token, date); err != nil {
		return fmt.Errorf("sqlite: redrive execution: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM execution_redrive_tokens WHERE execution_id = ? AND client_token NOT IN
		(SELECT client_token FROM execution_redrive_tokens WHERE execution_id = ?
		 ORDER BY redrive_date DESC, rowid DESC LIMIT ?)`, id, id, store.RedriveTokensKept); err != nil {
		return fmt.Errorf("sqlite: redrive execution: %w", err)
	}
	return nil
}

// ExecutionRedriveTokenGet implements store.Store.
func (s *Store) ExecutionRedriveTokenGet(ctx context.Context, p *store.ExecutionRedriveTokenGetParams) (time.Time, error) {
	var date int64
	err := s.r.QueryRowContext(ctx, `SELECT t.redrive_date FROM execution_redrive_tokens t
		JOIN executions e ON e.id = t.execution_id WHERE e.arn = ? AND t.client_token = ?`, p.Arn, p.ClientToken).Scan(&date)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("redrive token of %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: get redrive token: %w", err)
	}
	return fromMicro(date), nil
}

// redrivenSQL is ExecutionList's condition for ExecutionListParams.Redriven.
func redrivenSQL(redriven bool) string {
	cond := `EXISTS (SELECT 1 FROM execution_redrives r WHERE r.execution_id = executions.id)`
	if !redriven {
		cond = `NOT ` + cond
	}
	return cond
}
