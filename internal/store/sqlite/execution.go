package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

const (
	summaryCols = `arn, state_machine_arn, revision_id, name, type, status, start_date, stop_date,
		version, lease_owner, lease_expires_at`
	fullCols  = summaryCols + `, input, output, error, cause`
	stateCols = fullCols + `, state`
)

type scanner interface{ Scan(...any) error }

// scanExecution reads the columns of summaryCols, then fullCols' and stateCols' extras when
// asked: the wider the list, the more of the row it fills. Columns after those go to extra.
func scanExecution(r scanner, cols string, extra ...any) (*store.Execution, error) {
	var x store.Execution
	var start int64
	var stop, leaseExp sql.NullInt64
	var owner, output, errS, cause sql.NullString
	dst := []any{&x.Arn, &x.StateMachineArn, &x.RevisionID, &x.Name, &x.Type, &x.Status, &start, &stop,
		&x.Version, &owner, &leaseExp}
	if cols != summaryCols {
		dst = append(dst, &x.Input, &output, &errS, &cause)
	}
	if cols == stateCols {
		dst = append(dst, &x.State)
	}
	if err := r.Scan(append(dst, extra...)...); err != nil {
		return nil, err
	}
	x.StartDate = fromMicro(start)
	x.StopDate = fromMicroNull(stop)
	x.LeaseOwner = owner.String
	x.LeaseExpiresAt = fromMicroNull(leaseExp)
	x.Output, x.Error, x.Cause = strPtr(output), strPtr(errS), strPtr(cause)
	return &x, nil
}

// ExecutionCreate implements store.Store.
func (s *Store) ExecutionCreate(ctx context.Context, p *store.ExecutionCreateParams) (*store.Execution, error) {
	errs, err := s.ExecutionCreateBatch(ctx, &store.ExecutionCreateBatchParams{Executions: []*store.ExecutionCreateParams{p}})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return s.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: p.Arn, WithState: true})
}

// ExecutionCreateBatch implements store.Store. The single writer makes a duplicate visible to
// the INSERT itself, so ON CONFLICT DO NOTHING tells duplicates apart without a savepoint.
func (s *Store) ExecutionCreateBatch(ctx context.Context, p *store.ExecutionCreateBatchParams) ([]error, error) {
	errs := make([]error, len(p.Executions))
	for i, c := range p.Executions {
		errs[i] = c.Validate()
	}
	err := s.write(ctx, func(tx *wtx) error {
		for i, c := range p.Executions {
			if errs[i] != nil {
				continue
			}
			m := c.Mutations
			if m.Now.IsZero() {
				m.Now = c.StartDate
			}
			var owner, leaseExp any
			if c.LeaseOwner != "" {
				owner, leaseExp = c.LeaseOwner, micro(c.LeaseExpiresAt)
			}
			var id int64
			err := tx.queryRow(ctx, `INSERT INTO executions
				(arn, state_machine_arn, revision_id, name, type, status, input, output, error, cause,
				 start_date, stop_date, state, version, lease_owner, lease_expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
				ON CONFLICT DO NOTHING RETURNING id`, c.Arn, c.StateMachineArn, c.RevisionID, c.Name, c.Type,
				c.InitialStatus(), c.Input, c.Output, c.Error, c.Cause, micro(c.StartDate), microPtr(c.StopDate),
				nonNil(c.State), owner, leaseExp).Scan(&id)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				errs[i] = fmt.Errorf("execution %s: %w", c.Arn, store.ErrExecutionAlreadyExists)
				continue
			case isForeignKey(err):
				return fmt.Errorf("revision %s of %s: %w", c.RevisionID, c.StateMachineArn, store.ErrNotFound)
			case err != nil:
				return fmt.Errorf("sqlite: create execution: %w", err)
			}
			if err := s.writeMutations(ctx, tx, id, &m, false); err != nil {
				if errors.Is(err, errRowExists) {
					return fmt.Errorf("execution %s: %w: %w", c.Arn, store.ErrConflict, err)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// nonNil keeps NOT NULL blob columns happy when a caller passes no bytes.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ExecutionGet implements store.Store.
func (s *Store) ExecutionGet(ctx context.Context, p *store.ExecutionGetParams) (*store.Execution, error) {
	cols := fullCols
	if p.WithState {
		cols = stateCols
	}
	x, err := scanExecution(s.r.QueryRowContext(ctx, `SELECT `+cols+` FROM executions WHERE arn = ?`, p.Arn), cols)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get execution: %w", err)
	}
	return x, nil
}

// ExecutionGetByName implements store.Store.
func (s *Store) ExecutionGetByName(ctx context.Context, p *store.ExecutionGetByNameParams) (*store.Execution, error) {
	x, err := scanExecution(s.r.QueryRowContext(ctx, `SELECT `+fullCols+` FROM executions
		WHERE state_machine_arn = ? AND name = ?`, p.StateMachineArn, p.Name), fullCols)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s of %s: %w", p.Name, p.StateMachineArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get execution: %w", err)
	}
	return x, nil
}

// ExecutionList implements store.Store.
func (s *Store) ExecutionList(ctx context.Context, p *store.ExecutionListParams) (*store.ExecutionListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + summaryCols + ` FROM executions WHERE state_machine_arn = ?`
	args := []any{p.StateMachineArn}
	if p.Status != "" {
		q += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.Redriven != nil {
		q += ` AND ` + redrivenSQL(*p.Redriven)
	}
	if p.Cursor != "" {
		after, err := store.DecodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		q += ` AND (start_date, arn) < (?, ?)`
		args = append(args, micro(after.Time), after.Key)
	}
	q += ` ORDER BY start_date DESC, arn DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list executions: %w", err)
	}
	defer rows.Close()
	res := &store.ExecutionListResult{}
	for rows.Next() {
		x, err := scanExecution(rows, summaryCols)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list executions: %w", err)
		}
		res.Executions = append(res.Executions, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list executions: %w", err)
	}
	if len(res.Executions) > limit {
		res.Executions = res.Executions[:limit]
		last := res.Executions[limit-1]
		res.NextCursor = store.Cursor{Time: last.StartDate, Key: last.Arn}.Encode()
	}
	return res, nil
}

// ExecutionLeaseAcquire implements store.Store.
func (s *Store) ExecutionLeaseAcquire(ctx context.Context, p *store.ExecutionLeaseAcquireParams) ([]*store.Execution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var q string
	var args []any
	if len(p.Arns) > 0 {
		arns, err := json.Marshal(p.Arns)
		if err != nil {
			return nil, fmt.Errorf("sqlite: acquire leases: %w", err)
		}
		q = `UPDATE executions SET lease_owner = ?1, lease_expires_at = ?2
			WHERE arn IN (SELECT value FROM json_each(?3))
			AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_at <= ?4)
			RETURNING ` + stateCols
		args = []any{p.Owner, micro(p.ExpiresAt), string(arns), micro(p.Now)}
	} else {
		q = `UPDATE executions SET lease_owner = ?1, lease_expires_at = ?2
			WHERE id IN (SELECT id FROM executions
				WHERE lease_owner IS NOT NULL AND status = 'RUNNING' AND lease_expires_at <= ?3
				ORDER BY lease_expires_at LIMIT ?4)
			RETURNING ` + stateCols
		args = []any{p.Owner, micro(p.ExpiresAt), micro(p.Now), p.Limit}
	}
	var xs []*store.Execution
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("sqlite: acquire leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			x, err := scanExecution(rows, stateCols)
			if err != nil {
				return fmt.Errorf("sqlite: acquire leases: %w", err)
			}
			xs = append(xs, x)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: acquire leases: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return xs, nil
}

// ExecutionLeaseRelease implements store.Store.
func (s *Store) ExecutionLeaseRelease(ctx context.Context, p *store.ExecutionLeaseReleaseParams) error {
	arns, err := json.Marshal(p.Arns)
	if err != nil {
		return fmt.Errorf("sqlite: release leases: %w", err)
	}
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(ctx, `UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL
			WHERE arn IN (SELECT value FROM json_each(?)) AND lease_owner = ?`, string(arns), p.Owner); err != nil {
			return fmt.Errorf("sqlite: release leases: %w", err)
		}
		return nil
	})
}

// HistoryList implements store.Store.
func (s *Store) HistoryList(ctx context.Context, p *store.HistoryListParams) (*store.HistoryListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	q := `SELECT event_id, type, timestamp, payload FROM history_events
		WHERE execution_id = (SELECT id FROM executions WHERE arn = ?) AND event_id > ? ORDER BY event_id LIMIT ?`
	after := p.After
	if p.Reverse {
		q = `SELECT event_id, type, timestamp, payload FROM history_events
			WHERE execution_id = (SELECT id FROM executions WHERE arn = ?) AND event_id < ? ORDER BY event_id DESC LIMIT ?`
		if after == 0 {
			after = 1<<63 - 1
		}
	}
	rows, err := s.r.QueryContext(ctx, q, p.ExecutionArn, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list history: %w", err)
	}
	defer rows.Close()
	res := &store.HistoryListResult{}
	for rows.Next() {
		var e store.HistoryEvent
		var ts int64
		if err := rows.Scan(&e.ID, &e.Type, &ts, &e.Payload); err != nil {
			return nil, fmt.Errorf("sqlite: list history: %w", err)
		}
		e.Timestamp = fromMicro(ts)
		res.Events = append(res.Events, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list history: %w", err)
	}
	if len(res.Events) > limit {
		res.Events = res.Events[:limit]
		res.NextAfter = res.Events[limit-1].ID
	}
	return res, nil
}
