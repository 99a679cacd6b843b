package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// ExecutionRedrive implements store.Store.
func (s *Store) ExecutionRedrive(ctx context.Context, p *store.ExecutionRedriveParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `UPDATE executions SET state = $1, version = version + 1, status = $2, output = $3, error = $4,
			cause = $5, stop_date = $6, lease_owner = NULL, lease_expires_at = NULL
			WHERE arn = $7 AND version = $8 AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED') RETURNING id`,
			p.State, p.Status, p.Output, p.Error, p.Cause, tsPtr(p.StopDate), p.ExecutionArn, p.Version).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("execution %s has not ended redrivably at version %d: %w", p.ExecutionArn, p.Version, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("postgres: redrive execution: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO execution_redrives (execution_id, redrive_count, redrive_date) VALUES ($1, 1, $2)
			ON CONFLICT (execution_id) DO UPDATE SET redrive_count = execution_redrives.redrive_count + 1,
			redrive_date = excluded.redrive_date`, id, ts(p.Now)); err != nil {
			return fmt.Errorf("postgres: redrive execution: %w", err)
		}
		if p.ClientToken != "" {
			if err := recordRedriveToken(ctx, tx, id, p.ClientToken, p.Now); err != nil {
				return err
			}
		}
		var ended []int64
		if p.Status.Terminal() {
			ended = []int64{id}
		}
		return writeMutations(ctx, tx, []int64{id}, []*store.Mutations{&p.Mutations}, ended)
	})
	if isUnique(err) {
		return fmt.Errorf("execution %s: %w: %w", p.ExecutionArn, store.ErrConflict, err)
	}
	return err
}

// ExecutionRedriveGet implements store.Store.
func (s *Store) ExecutionRedriveGet(ctx context.Context, p *store.ExecutionRedriveGetParams) (*store.Redrives, error) {
	var r store.Redrives
	err := s.pool.QueryRow(ctx, `SELECT r.redrive_count, r.redrive_date FROM execution_redrives r
		JOIN executions e ON e.id = r.execution_id WHERE e.arn = $1`, p.Arn).Scan(&r.Count, &r.Date)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("redrives of %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get redrives: %w", err)
	}
	r.Date = r.Date.UTC()
	return &r, nil
}

// recordRedriveToken records a redrive's client token, forgetting the execution's tokens
// beyond the last store.RedriveTokensKept.
func recordRedriveToken(ctx context.Context, tx pgx.Tx, id int64, token string, date time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO execution_redrive_tokens (execution_id, client_token, redrive_date)
		VALUES ($1, $2, $3) ON CONFLICT (execution_id, client_token) DO UPDATE SET redrive_date = excluded.redrive_date`,
		id, token, ts(date)); err != nil {
		return fmt.Errorf("postgres: redrive execution: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM execution_redrive_tokens WHERE execution_id = $1 AND client_token NOT IN
		(SELECT client_token FROM execution_redrive_tokens WHERE execution_id = $1
		 ORDER BY redrive_date DESC, client_token DESC LIMIT $2)`, id, store.RedriveTokensKept); err != nil {
		return fmt.Errorf("postgres: redrive execution: %w", err)
	}
	return nil
}

// ExecutionRedriveTokenGet implements store.Store.
func (s *Store) ExecutionRedriveTokenGet(ctx context.Context, p *store.ExecutionRedriveTokenGetParams) (time.Time, error) {
	var date time.Time
	err := s.pool.QueryRow(ctx, `SELECT t.redrive_date FROM execution_redrive_tokens t
		JOIN executions e ON e.id = t.execution_id WHERE e.arn = $1 AND t.client_token = $2`, p.Arn, p.ClientToken).Scan(&date)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, fmt.Errorf("redrive token of %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: get redrive token: %w", err)
	}
	return date.UTC(), nil
}

// redrivenSQL is ExecutionList's condition for ExecutionListParams.Redriven.
func redrivenSQL(redriven bool) string {
	cond := `EXISTS (SELECT 1 FROM execution_redrives r WHERE r.execution_id = executions.id)`
	if !redriven {
		cond = `NOT ` + cond
	}
	return cond
}
