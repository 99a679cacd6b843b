package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// ActivityCreate implements store.Store.
func (s *Store) ActivityCreate(ctx context.Context, p *store.ActivityCreateParams) (*store.Activity, error) {
	if p.Arn == "" || p.Name == "" || p.CreatedAt.IsZero() {
		return nil, fmt.Errorf("%w: activity needs an ARN, a name and a creation date", store.ErrInvalidParams)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO activities (arn, name, created_at, tags) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO NOTHING`, p.Arn, p.Name, ts(p.CreatedAt), p.Tags); err != nil {
		return nil, fmt.Errorf("postgres: create activity: %w", err)
	}
	a, err := scanActivity(s.pool.QueryRow(ctx, `SELECT arn, name, created_at, tags FROM activities WHERE name = $1`, p.Name))
	if err != nil {
		return nil, fmt.Errorf("postgres: create activity: %w", err)
	}
	return a, nil
}

func scanActivity(r pgx.Row) (*store.Activity, error) {
	var a store.Activity
	if err := r.Scan(&a.Arn, &a.Name, &a.CreatedAt, &a.Tags); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// ActivityGet implements store.Store.
func (s *Store) ActivityGet(ctx context.Context, p *store.ActivityGetParams) (*store.Activity, error) {
	a, err := scanActivity(s.pool.QueryRow(ctx, `SELECT arn, name, created_at, tags FROM activities WHERE arn = $1`, p.Arn))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("activity %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get activity: %w", err)
	}
	return a, nil
}

// ActivityList implements store.Store.
func (s *Store) ActivityList(ctx context.Context, p *store.ActivityListParams) (*store.ActivityListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT arn, name, created_at, tags FROM activities
		WHERE arn > $1 ORDER BY arn LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: list activities: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Activity, error) { return scanActivity(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list activities: %w", err)
	}
	res := &store.ActivityListResult{Activities: as}
	if len(as) > limit {
		res.Activities = as[:limit]
		res.NextCursor = store.Cursor{Key: as[limit-1].Arn}.Encode()
	}
	return res, nil
}

// ActivityDelete implements store.Store.
func (s *Store) ActivityDelete(ctx context.Context, p *store.ActivityDeleteParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM activities WHERE arn = $1`, p.Arn)
	if err != nil {
		return fmt.Errorf("postgres: delete activity: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("activity %s: %w", p.Arn, store.ErrNotFound)
	}
	return nil
}

// ActivityTaskEnqueue implements store.Store.
func (s *Store) ActivityTaskEnqueue(ctx context.Context, p *store.ActivityTaskEnqueueParams) error {
	var execID int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM executions WHERE arn = $1`, p.ExecutionArn).Scan(&execID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("execution %s: %w", p.ExecutionArn, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: enqueue activity task: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO activity_tasks (token, activity_arn, execution_id, input, enqueued_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token) DO NOTHING`,
		p.Token, p.ActivityArn, execID, p.Input, ts(p.Now)); err != nil {
		return fmt.Errorf("postgres: enqueue activity task: %w", err)
	}
	return nil
}

// ActivityTaskClaim implements store.Store.
func (s *Store) ActivityTaskClaim(ctx context.Context, p *store.ActivityTaskClaimParams) (*store.ActivityTask, error) {
	var t store.ActivityTask
	err := s.pool.QueryRow(ctx, `WITH claimed AS (
			UPDATE activity_tasks SET worker_name = $1, claimed_at = $2
			WHERE id = (SELECT id FROM activity_tasks WHERE activity_arn = $3 AND claimed_at IS NULL
				ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING token, activity_arn, execution_id, input, enqueued_at, worker_name, claimed_at)
		SELECT c.token, c.activity_arn, e.arn, c.input, c.enqueued_at, c.worker_name, c.claimed_at
		FROM claimed c JOIN executions e ON e.id = c.execution_id`,
		p.WorkerName, ts(p.Now), p.ActivityArn).Scan(
		&t.Token, &t.ActivityArn, &t.ExecutionArn, &t.Input, &t.EnqueuedAt, &t.WorkerName, &t.ClaimedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("activity %s has no waiting task: %w", p.ActivityArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: claim activity task: %w", err)
	}
	t.EnqueuedAt = t.EnqueuedAt.UTC()
	t.ClaimedAt = utcPtr(t.ClaimedAt)
	return &t, nil
}
