package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

// ActivityCreate implements store.Store.
func (s *Store) ActivityCreate(ctx context.Context, p *store.ActivityCreateParams) (*store.Activity, error) {
	if p.Arn == "" || p.Name == "" || p.CreatedAt.IsZero() {
		return nil, fmt.Errorf("%w: activity needs an ARN, a name and a creation date", store.ErrInvalidParams)
	}
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(ctx, `INSERT INTO activities (arn, name, created_at, tags) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, p.Arn, p.Name, micro(p.CreatedAt), p.Tags); err != nil {
			return fmt.Errorf("sqlite: create activity: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a, err := scanActivity(s.r.QueryRowContext(ctx, `SELECT arn, name, created_at, tags FROM activities WHERE name = ?`, p.Name))
	if err != nil {
		return nil, fmt.Errorf("sqlite: create activity: %w", err)
	}
	return a, nil
}

func scanActivity(r scanner) (*store.Activity, error) {
	var a store.Activity
	var created int64
	if err := r.Scan(&a.Arn, &a.Name, &created, &a.Tags); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicro(created)
	return &a, nil
}

// ActivityGet implements store.Store.
func (s *Store) ActivityGet(ctx context.Context, p *store.ActivityGetParams) (*store.Activity, error) {
	a, err := scanActivity(s.r.QueryRowContext(ctx, `SELECT arn, name, created_at, tags FROM activities WHERE arn = ?`, p.Arn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("activity %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get activity: %w", err)
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
	rows, err := s.r.QueryContext(ctx, `SELECT arn, name, created_at, tags FROM activities
		WHERE arn > ? ORDER BY arn LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list activities: %w", err)
	}
	defer rows.Close()
	res := &store.ActivityListResult{}
	for rows.Next() {
		a, err := scanActivity(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list activities: %w", err)
		}
		res.Activities = append(res.Activities, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list activities: %w", err)
	}
	if len(res.Activities) > limit {
		res.Activities = res.Activities[:limit]
		res.NextCursor = store.Cursor{Key: res.Activities[limit-1].Arn}.Encode()
	}
	return res, nil
}

// ActivityDelete implements store.Store.
func (s *Store) ActivityDelete(ctx context.Context, p *store.ActivityDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM activities WHERE arn = ?`, p.Arn)
		if err != nil {
			return fmt.Errorf("sqlite: delete activity: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete activity: %w", err)
		} else if n == 0 {
			return fmt.Errorf("activity %s: %w", p.Arn, store.ErrNotFound)
		}
		return nil
	})
}

// ActivityTaskEnqueue implements store.Store.
func (s *Store) ActivityTaskEnqueue(ctx context.Context, p *store.ActivityTaskEnqueueParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `INSERT INTO activity_tasks (token, activity_arn, execution_id, input, enqueued_at)
			SELECT ?, ?, id, ?, ? FROM executions WHERE arn = ?
			ON CONFLICT (token) DO NOTHING`, p.Token, p.ActivityArn, p.Input, micro(p.Now), p.ExecutionArn)
		if err != nil {
			return fmt.Errorf("sqlite: enqueue activity task: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: enqueue activity task: %w", err)
		} else if n == 0 {
			return s.taskEnqueueMiss(ctx, tx, p)
		}
		return nil
	})
}

// taskEnqueueMiss tells a repeated enqueue (fine) from one for a missing execution.
func (s *Store) taskEnqueueMiss(ctx context.Context, tx *wtx, p *store.ActivityTaskEnqueueParams) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM executions WHERE arn = ?`, p.ExecutionArn).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("execution %s: %w", p.ExecutionArn, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: enqueue activity task: %w", err)
	}
	return nil
}

// ActivityTaskClaim implements store.Store.
func (s *Store) ActivityTaskClaim(ctx context.Context, p *store.ActivityTaskClaimParams) (*store.ActivityTask, error) {
	var t store.ActivityTask
	err := s.write(ctx, func(tx *wtx) error {
		var enq, claimed int64
		err := tx.queryRow(ctx, `UPDATE activity_tasks SET worker_name = ?, claimed_at = ?
			WHERE id = (SELECT id FROM activity_tasks WHERE activity_arn = ? AND claimed_at IS NULL ORDER BY id LIMIT 1)
			RETURNING token, activity_arn, (SELECT arn FROM executions WHERE id = execution_id),
				input, enqueued_at, worker_name, claimed_at`, p.WorkerName, micro(p.Now), p.ActivityArn).Scan(
			&t.Token, &t.ActivityArn, &t.ExecutionArn, &t.Input, &enq, &t.WorkerName, &claimed)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("activity %s has no waiting task: %w", p.ActivityArn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: claim activity task: %w", err)
		}
		t.EnqueuedAt = fromMicro(enq)
		c := fromMicro(claimed)
		t.ClaimedAt = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}
