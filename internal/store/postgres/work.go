package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// Claims pick rows under FOR UPDATE SKIP LOCKED and push their available_at to the claim's
// expiry in the same statement: a concurrent claimer skips the rows being claimed, and once
// this statement commits it no longer sees them as available.

// EffectClaim implements store.Store.
func (s *Store) EffectClaim(ctx context.Context, p *store.EffectClaimParams) ([]*store.Effect, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `WITH claimed AS (
			UPDATE effects f SET available_at = $2
			FROM (SELECT id, available_at FROM effects WHERE available_at <= $1
				ORDER BY available_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) c
			WHERE f.id = c.id
			RETURNING f.id, c.available_at AS was_available, f.execution_id, f.effect_id, f.kind,
				f.idempotency_key, f.payload, f.created_at)
		SELECT e.arn, c.effect_id, c.kind, c.idempotency_key, c.payload, c.created_at
		FROM claimed c JOIN executions e ON e.id = c.execution_id
		ORDER BY c.was_available, c.id`, ts(p.Now), ts(p.ClaimUntil), p.Limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim effects: %w", err)
	}
	effects, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Effect, error) {
		var e store.Effect
		err := r.Scan(&e.ExecutionArn, &e.EffectID, &e.Kind, &e.IdempotencyKey, &e.Payload, &e.CreatedAt)
		e.CreatedAt = e.CreatedAt.UTC()
		return &e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim effects: %w", err)
	}
	return effects, nil
}

// EffectDelete implements store.Store.
func (s *Store) EffectDelete(ctx context.Context, p *store.EffectDeleteParams) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM effects WHERE effect_id = $1
		AND execution_id = (SELECT id FROM executions WHERE arn = $2)`, p.EffectID, p.ExecutionArn); err != nil {
		return fmt.Errorf("postgres: delete effect: %w", err)
	}
	return nil
}

// EffectClaimExtend implements store.Store.
func (s *Store) EffectClaimExtend(ctx context.Context, p *store.EffectClaimExtendParams) error {
	tag, err := s.pool.Exec(ctx, `UPDATE effects SET available_at = $1 WHERE effect_id = $2
		AND execution_id = (SELECT id FROM executions WHERE arn = $3)`, ts(p.Until), p.EffectID, p.ExecutionArn)
	if err != nil {
		return fmt.Errorf("postgres: extend effect claim: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("effect %s of %s: %w", p.EffectID, p.ExecutionArn, store.ErrNotFound)
	}
	return nil
}

// InboxAppend implements store.Store.
func (s *Store) InboxAppend(ctx context.Context, p *store.InboxAppendParams) (*store.InboxMessage, error) {
	msg := &store.InboxMessage{ExecutionArn: p.ExecutionArn, Payload: p.Payload, CreatedAt: ts(p.Now).UTC()}
	// The effect goes in the same statement, and only with the message: a data-modifying CTE
	// runs whether or not the outer query returns rows, so its WHERE repeats the RUNNING check.
	err := s.pool.QueryRow(ctx, `WITH done AS (
			DELETE FROM effects WHERE $4 <> '' AND effect_id = $4
				AND execution_id = (SELECT id FROM executions WHERE arn = $1 AND status = 'RUNNING'))
		INSERT INTO inbox (execution_id, payload, created_at, available_at)
		SELECT id, $2, $3, $3 FROM executions WHERE arn = $1 AND status = 'RUNNING'
		RETURNING id`, p.ExecutionArn, nonNil(p.Payload), ts(p.Now), p.EffectID).Scan(&msg.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		var status store.ExecutionStatus
		err := s.pool.QueryRow(ctx, `SELECT status FROM executions WHERE arn = $1`, p.ExecutionArn).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("execution %s: %w", p.ExecutionArn, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: append inbox: %w", err)
		}
		return nil, fmt.Errorf("execution %s is %s: %w", p.ExecutionArn, status, store.ErrExecutionNotRunning)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: append inbox: %w", err)
	}
	return msg, nil
}

// InboxClaim implements store.Store.
func (s *Store) InboxClaim(ctx context.Context, p *store.InboxClaimParams) ([]*store.InboxMessage, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `WITH claimed AS (
			UPDATE inbox i SET available_at = $2
			FROM (SELECT id, available_at FROM inbox WHERE available_at <= $1
				ORDER BY available_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) c
			WHERE i.id = c.id
			RETURNING i.id, c.available_at AS was_available, i.execution_id, i.payload, i.created_at)
		SELECT c.id, e.arn, c.payload, c.created_at FROM claimed c JOIN executions e ON e.id = c.execution_id
		ORDER BY c.was_available, c.id`, ts(p.Now), ts(p.ClaimUntil), p.Limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim inbox: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.InboxMessage, error) {
		var m store.InboxMessage
		err := r.Scan(&m.ID, &m.ExecutionArn, &m.Payload, &m.CreatedAt)
		m.CreatedAt = m.CreatedAt.UTC()
		return &m, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim inbox: %w", err)
	}
	return msgs, nil
}

// TaskTokenGet implements store.Store.
func (s *Store) TaskTokenGet(ctx context.Context, p *store.TaskTokenGetParams) (*store.TaskToken, error) {
	t := store.TaskToken{Token: p.Token}
	var closed bool
	err := s.pool.QueryRow(ctx, `SELECT e.arn, t.task_id, t.created_at, t.closed
		FROM task_tokens t JOIN executions e ON e.id = t.execution_id
		WHERE t.token = $1`, p.Token).Scan(&t.ExecutionArn, &t.TaskID, &t.CreatedAt, &closed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("task token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get task token: %w", err)
	}
	if closed {
		return nil, fmt.Errorf("task token: %w", store.ErrTaskTokenClosed)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// TaskTokenClose implements store.Store. The UPDATE takes the token's row lock, so of two
// concurrent closes the second waits, then finds the token closed.
func (s *Store) TaskTokenClose(ctx context.Context, p *store.TaskTokenCloseParams) (*store.InboxMessage, error) {
	msg := &store.InboxMessage{Payload: p.Payload, CreatedAt: ts(p.Now).UTC()}
	err := s.pool.QueryRow(ctx, `WITH closed AS (
			UPDATE task_tokens SET closed = TRUE WHERE token = $1 AND NOT closed RETURNING execution_id),
		msg AS (
			INSERT INTO inbox (execution_id, payload, created_at, available_at)
			SELECT execution_id, $2, $3, $3 FROM closed
			RETURNING id, execution_id)
		SELECT msg.id, e.arn FROM msg JOIN executions e ON e.id = msg.execution_id`,
		p.Token, nonNil(p.Payload), ts(p.Now)).Scan(&msg.ID, &msg.ExecutionArn)
	if errors.Is(err, pgx.ErrNoRows) {
		// Closed already, or never issued: tell which.
		var one int
		err = s.pool.QueryRow(ctx, `SELECT 1 FROM task_tokens WHERE token = $1`, p.Token).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, fmt.Errorf("task token: %w", store.ErrNotFound)
		case err != nil:
			return nil, fmt.Errorf("postgres: close task token: %w", err)
		}
		return nil, fmt.Errorf("task token: %w", store.ErrTaskTokenClosed)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: close task token: %w", err)
	}
	return msg, nil
}

// ExecutionClaimDue implements store.Store. FOR UPDATE OF e SKIP LOCKED passes over
// executions another node is leasing or committing right now; one that node has leased by the
// time this statement reaches it fails the lease condition when PostgreSQL re-checks it
// against the row's newest version. The timers come in the same statement, as arrays.
func (s *Store) ExecutionClaimDue(ctx context.Context, p *store.ExecutionClaimDueParams) ([]*store.DueExecution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `WITH picked AS (
			SELECT e.id FROM timers t JOIN executions e ON e.id = t.execution_id
			WHERE t.due_at <= $3 AND e.status = 'RUNNING' AND (e.lease_owner IS NULL OR e.lease_expires_at <= $3)
			ORDER BY t.due_at LIMIT $4
			FOR UPDATE OF e SKIP LOCKED),
		leased AS (
			UPDATE executions SET lease_owner = $1, lease_expires_at = $2
			WHERE id IN (SELECT id FROM picked)
			RETURNING id, `+stateCols+`)
		SELECT `+stateCols+`, due.ids, due.dues FROM leased l, LATERAL (
			SELECT array_agg(timer_id ORDER BY due_at, timer_id) AS ids,
				array_agg(due_at ORDER BY due_at, timer_id) AS dues, min(due_at) AS first_due
			FROM timers WHERE execution_id = l.id AND due_at <= $3) due
		ORDER BY due.first_due, l.arn`, p.Owner, ts(p.ExpiresAt), ts(p.Now), p.Limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due executions: %w", err)
	}
	xs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.DueExecution, error) {
		var ids []string
		var dues []time.Time
		x, err := scanExecution(r, stateCols, &ids, &dues)
		if err != nil {
			return nil, err
		}
		d := &store.DueExecution{Execution: x, Timers: make([]*store.Timer, len(ids))}
		for i, id := range ids {
			d.Timers[i] = &store.Timer{ExecutionArn: x.Arn, TimerID: id, Due: dues[i].UTC()}
		}
		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due executions: %w", err)
	}
	return xs, nil
}
