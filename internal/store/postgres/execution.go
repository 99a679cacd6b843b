package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

const (
	summaryCols = `arn, state_machine_arn, revision_id, name, type, status, start_date, stop_date,
		version, lease_owner, lease_expires_at`
	fullCols  = summaryCols + `, input, output, error, cause`
	stateCols = fullCols + `, state`
)

// scanExecution reads the columns of summaryCols, then fullCols' and stateCols' extras when
// asked: the wider the list, the more of the row it fills. Columns after those go to extra.
func scanExecution(r pgx.Row, cols string, extra ...any) (*store.Execution, error) {
	var x store.Execution
	var owner *string
	dst := []any{&x.Arn, &x.StateMachineArn, &x.RevisionID, &x.Name, &x.Type, &x.Status, &x.StartDate, &x.StopDate,
		&x.Version, &owner, &x.LeaseExpiresAt}
	if cols != summaryCols {
		dst = append(dst, &x.Input, &x.Output, &x.Error, &x.Cause)
	}
	if cols == stateCols {
		dst = append(dst, &x.State)
	}
	if err := r.Scan(append(dst, extra...)...); err != nil {
		return nil, err
	}
	x.StartDate = x.StartDate.UTC()
	x.StopDate = utcPtr(x.StopDate)
	x.LeaseExpiresAt = utcPtr(x.LeaseExpiresAt)
	if owner != nil {
		x.LeaseOwner = *owner
	}
	return &x, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func collectExecutions(rows pgx.Rows, cols string) ([]*store.Execution, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Execution, error) { return scanExecution(r, cols) })
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

// ExecutionCreateBatch implements store.Store. ON CONFLICT DO NOTHING tells a taken ARN or name
// apart without aborting the transaction, so one duplicate does not cost the others.
func (s *Store) ExecutionCreateBatch(ctx context.Context, p *store.ExecutionCreateBatchParams) ([]error, error) {
	errs := make([]error, len(p.Executions))
	for i, c := range p.Executions {
		errs[i] = c.Validate()
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ids []int64
		var muts []*store.Mutations
		for i, c := range p.Executions {
			if errs[i] != nil {
				continue
			}
			m := c.Mutations
			if m.Now.IsZero() {
				m.Now = c.StartDate
			}
			var owner *string
			var leaseExp *time.Time
			if c.LeaseOwner != "" {
				owner, leaseExp = &c.LeaseOwner, tsPtr(&c.LeaseExpiresAt)
			}
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO executions
				(arn, state_machine_arn, revision_id, name, type, status, input, output, error, cause,
				 start_date, stop_date, state, version, lease_owner, lease_expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15)
				ON CONFLICT DO NOTHING RETURNING id`, c.Arn, c.StateMachineArn, c.RevisionID, c.Name, c.Type,
				c.InitialStatus(), c.Input, c.Output, c.Error, c.Cause, ts(c.StartDate), tsPtr(c.StopDate),
				nonNil(c.State), owner, leaseExp).Scan(&id)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				errs[i] = fmt.Errorf("execution %s: %w", c.Arn, store.ErrExecutionAlreadyExists)
				continue
			case isForeignKey(err):
				return fmt.Errorf("revision %s of %s: %w", c.RevisionID, c.StateMachineArn, store.ErrNotFound)
			case err != nil:
				return fmt.Errorf("postgres: create execution: %w", err)
			}
			if c.VersionArn != "" {
				var alias *string
				if c.AliasArn != "" {
					alias = &c.AliasArn
				}
				if _, err := tx.Exec(ctx, `INSERT INTO execution_origins (execution_id, version_arn, alias_arn) VALUES ($1, $2, $3)`,
					id, c.VersionArn, alias); err != nil {
					return fmt.Errorf("postgres: create execution: %w", err)
				}
			}
			ids = append(ids, id)
			muts = append(muts, &m)
		}
		if len(ids) == 0 {
			return nil
		}
		err := writeMutations(ctx, tx, ids, muts, nil)
		if errors.Is(err, errRowExists) {
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// ExecutionGet implements store.Store.
func (s *Store) ExecutionGet(ctx context.Context, p *store.ExecutionGetParams) (*store.Execution, error) {
	cols := fullCols
	if p.WithState {
		cols = stateCols
	}
	x, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+cols+` FROM executions WHERE arn = $1`, p.Arn), cols)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("execution %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get execution: %w", err)
	}
	return x, nil
}

// ExecutionGetByName implements store.Store.
func (s *Store) ExecutionGetByName(ctx context.Context, p *store.ExecutionGetByNameParams) (*store.Execution, error) {
	x, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+fullCols+` FROM executions
		WHERE state_machine_arn = $1 AND name = $2`, p.StateMachineArn, p.Name), fullCols)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("execution %s of %s: %w", p.Name, p.StateMachineArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get execution: %w", err)
	}
	return x, nil
}

// ExecutionList implements store.Store.
func (s *Store) ExecutionList(ctx context.Context, p *store.ExecutionListParams) (*store.ExecutionListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + summaryCols + `, o.version_arn, o.alias_arn, r.redrive_count, r.redrive_date FROM executions
		LEFT JOIN execution_origins o ON o.execution_id = executions.id
		LEFT JOIN execution_redrives r ON r.execution_id = executions.id
		WHERE state_machine_arn = $1`
	args := []any{p.StateMachineArn}
	if p.Status != "" {
		args = append(args, p.Status)
		q += fmt.Sprintf(` AND status = $%d`, len(args))
	}
	if p.Redriven != nil {
		q += ` AND ` + redrivenSQL(*p.Redriven)
	}
	if p.VersionArn != "" {
		args = append(args, p.VersionArn)
		q += fmt.Sprintf(` AND o.version_arn = $%d`, len(args))
	}
	if p.AliasArn != "" {
		args = append(args, p.AliasArn)
		q += fmt.Sprintf(` AND o.alias_arn = $%d`, len(args))
	}
	if p.Cursor != "" {
		after, err := store.DecodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		args = append(args, after.Time, after.Key)
		q += fmt.Sprintf(` AND (start_date, arn) < ($%d, $%d)`, len(args)-1, len(args))
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY start_date DESC, arn DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list executions: %w", err)
	}
	xs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Execution, error) {
		var version, alias *string
		var count *int64
		var date *time.Time
		x, err := scanExecution(r, summaryCols, &version, &alias, &count, &date)
		if err != nil {
			return nil, err
		}
		x.VersionArn, x.AliasArn = deref(version), deref(alias)
		if count != nil && date != nil {
			x.Redrives = &store.Redrives{Count: *count, Date: date.UTC()}
		}
		return x, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list executions: %w", err)
	}
	res := &store.ExecutionListResult{Executions: xs}
	if len(xs) > limit {
		res.Executions = xs[:limit]
		last := xs[limit-1]
		res.NextCursor = store.Cursor{Time: last.StartDate, Key: last.Arn}.Encode()
	}
	return res, nil
}

// ExecutionLeaseAcquire implements store.Store.
func (s *Store) ExecutionLeaseAcquire(ctx context.Context, p *store.ExecutionLeaseAcquireParams) ([]*store.Execution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	// SKIP LOCKED: an execution whose row another node is committing is busy, and busy is
	// the same answer as leased.
	var rows pgx.Rows
	var err error
	if len(p.Arns) > 0 {
		rows, err = s.pool.Query(ctx, `UPDATE executions SET lease_owner = $1, lease_expires_at = $2
			WHERE id IN (SELECT id FROM executions WHERE arn = ANY($3)
				AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at <= $4)
				FOR UPDATE SKIP LOCKED)
			RETURNING `+stateCols, p.Owner, ts(p.ExpiresAt), p.Arns, ts(p.Now))
	} else {
		rows, err = s.pool.Query(ctx, `UPDATE executions SET lease_owner = $1, lease_expires_at = $2
			WHERE id IN (SELECT id FROM executions
				WHERE lease_owner IS NOT NULL AND status = 'RUNNING' AND lease_expires_at <= $3
				ORDER BY lease_expires_at LIMIT $4
				FOR UPDATE SKIP LOCKED)
			RETURNING `+stateCols, p.Owner, ts(p.ExpiresAt), ts(p.Now), p.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: acquire leases: %w", err)
	}
	xs, err := collectExecutions(rows, stateCols)
	if err != nil {
		return nil, fmt.Errorf("postgres: acquire leases: %w", err)
	}
	return xs, nil
}

// ExecutionLeaseRelease implements store.Store.
func (s *Store) ExecutionLeaseRelease(ctx context.Context, p *store.ExecutionLeaseReleaseParams) error {
	if _, err := s.pool.Exec(ctx, `UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL
		WHERE arn = ANY($1) AND lease_owner = $2`, p.Arns, p.Owner); err != nil {
		return fmt.Errorf("postgres: release leases: %w", err)
	}
	return nil
}

// ExecutionDeleteClosed implements store.Store. History rows and the Map Run children's rows
// have no foreign key, so they are deleted by hand; the other rows of an execution go with it
// (ON DELETE CASCADE).
func (s *Store) ExecutionDeleteClosed(ctx context.Context, p *store.ExecutionDeleteClosedParams) (int, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	var n int
	err := s.pool.QueryRow(ctx, `WITH gone AS (
			DELETE FROM executions WHERE id IN (
				SELECT id FROM executions WHERE status <> 'RUNNING' AND stop_date < $1
				ORDER BY stop_date LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING id),
		history AS (DELETE FROM history_events WHERE execution_id IN (SELECT id FROM gone)),
		children AS (DELETE FROM child_executions WHERE execution_id IN (SELECT id FROM gone)),
		child_history AS (DELETE FROM child_history_events WHERE execution_id IN (SELECT id FROM gone))
		SELECT count(*) FROM gone`, ts(p.Before), p.Limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete closed executions: %w", err)
	}
	return n, nil
}

// ExecutionLeaseReleaseAll implements store.Store. The status condition lets the partial index
// of leased executions find the rows.
func (s *Store) ExecutionLeaseReleaseAll(ctx context.Context, p *store.ExecutionLeaseReleaseAllParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	except := p.Except
	if except == nil {
		except = []string{}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL
		WHERE lease_owner = $1 AND status = 'RUNNING' AND NOT arn = ANY($2)`, p.Owner, except); err != nil {
		return fmt.Errorf("postgres: release all leases: %w", err)
	}
	return nil
}

// historySQL[child][reverse] is HistoryList's query: an execution's events are keyed by its
// row id, a Map Run child's (which has no row) by its parent's and its key, which its ARN
// names in child_executions.
var historySQL = func() (q [2][2]string) {
	for child, from := range []string{
		`history_events WHERE execution_id = (SELECT id FROM executions WHERE arn = $1)`,
		`child_history_events WHERE (execution_id, child_key) =
			(SELECT execution_id, child_key FROM child_executions WHERE arn = $1)`,
	} {
		q[child][0] = `SELECT event_id, type, timestamp, payload FROM ` + from + ` AND event_id > $2 ORDER BY event_id LIMIT $3`
		q[child][1] = `SELECT event_id, type, timestamp, payload FROM ` + from + ` AND event_id < $2 ORDER BY event_id DESC LIMIT $3`
	}
	return q
}()

// HistoryList implements store.Store.
func (s *Store) HistoryList(ctx context.Context, p *store.HistoryListParams) (*store.HistoryListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after := p.After
	if p.Reverse && after == 0 {
		after = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx, historySQL[b2i(p.Child)][b2i(p.Reverse)], p.ExecutionArn, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: list history: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.HistoryEvent, error) {
		var e store.HistoryEvent
		err := r.Scan(&e.ID, &e.Type, &e.Timestamp, &e.Payload)
		e.Timestamp = e.Timestamp.UTC()
		return &e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list history: %w", err)
	}
	res := &store.HistoryListResult{Events: es}
	if len(es) > limit {
		res.Events = es[:limit]
		res.NextAfter = es[limit-1].ID
	}
	return res, nil
}

// ChildExecutionGet implements store.Store.
func (s *Store) ChildExecutionGet(ctx context.Context, p *store.ChildExecutionGetParams) (*store.ChildExecution, error) {
	var c store.ChildExecution
	err := s.pool.QueryRow(ctx, `SELECT e.arn, c.child_key FROM child_executions c JOIN executions e ON e.id = c.execution_id
		WHERE c.arn = $1`, p.ExecutionArn).Scan(&c.ParentArn, &c.Key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: child execution %s: %w", p.ExecutionArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: child execution: %w", err)
	}
	return &c, nil
}
