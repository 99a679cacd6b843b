package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

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
	leased := map[string]int64{} // row ids of the new executions created leased
	err := s.write(ctx, func(tx *wtx) error {
		for i, c := range p.Executions {
			if errs[i] != nil {
				continue
			}
			m := c.Mutations
			if m.Now.IsZero() {
				m.Now = c.StartDate
			}
			var id int64
			err := tx.queryRow(ctx, `INSERT INTO executions
				(arn, state_machine_arn, revision_id, name, type, status, input, output, error, cause,
				 start_date, stop_date, state, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
				ON CONFLICT DO NOTHING RETURNING id`, c.Arn, c.StateMachineArn, c.RevisionID, c.Name, c.Type,
				c.InitialStatus(), c.Input, c.Output, c.Error, c.Cause, micro(c.StartDate), microPtr(c.StopDate),
				nonNil(c.State)).Scan(&id)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				errs[i] = fmt.Errorf("execution %s: %w", c.Arn, store.ErrExecutionAlreadyExists)
				continue
			case isForeignKey(err):
				return fmt.Errorf("revision %s of %s: %w", c.RevisionID, c.StateMachineArn, store.ErrNotFound)
			case err != nil:
				return fmt.Errorf("sqlite: create execution: %w", err)
			}
			if c.VersionArn != "" {
				if _, err := tx.exec(ctx, `INSERT INTO execution_origins (execution_id, version_arn, alias_arn) VALUES (?, ?, ?)`,
					id, c.VersionArn, sql.NullString{String: c.AliasArn, Valid: c.AliasArn != ""}); err != nil {
					return fmt.Errorf("sqlite: create execution: %w", err)
				}
			}
			if err := s.writeMutations(ctx, tx, id, &m, false); err != nil {
				if errors.Is(err, errRowExists) {
					return fmt.Errorf("execution %s: %w: %w", c.Arn, store.ErrConflict, err)
				}
				return err
			}
			if c.LeaseOwner != "" {
				leased[c.Arn] = id
			}
		}
		if len(leased) == 0 {
			return nil
		}
		s.leaseMu.Lock()
		defer s.leaseMu.Unlock()
		for _, c := range p.Executions {
			if id, ok := leased[c.Arn]; ok {
				s.leases[c.Arn] = &lease{id: id, owner: c.LeaseOwner, expires: micro(c.LeaseExpiresAt)}
			}
		}
		return nil
	})
	if err != nil {
		s.forget(leased)
		return nil, err
	}
	return errs, nil
}

// forget drops the leases of executions whose creation was rolled back.
func (s *Store) forget(leased map[string]int64) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	for arn, id := range leased {
		if l := s.leases[arn]; l != nil && l.id == id {
			delete(s.leases, arn)
		}
	}
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
	s.overlay(x)
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
	s.overlay(x)
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
		WHERE state_machine_arn = ?`
	args := []any{p.StateMachineArn}
	if p.Status != "" {
		q += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.Redriven != nil {
		q += ` AND ` + redrivenSQL(*p.Redriven)
	}
	if p.VersionArn != "" {
		q += ` AND o.version_arn = ?`
		args = append(args, p.VersionArn)
	}
	if p.AliasArn != "" {
		q += ` AND o.alias_arn = ?`
		args = append(args, p.AliasArn)
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
		var version, alias sql.NullString
		var count, date sql.NullInt64
		x, err := scanExecution(rows, summaryCols, &version, &alias, &count, &date)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list executions: %w", err)
		}
		x.VersionArn, x.AliasArn = version.String, alias.String
		if count.Valid {
			x.Redrives = &store.Redrives{Count: count.Int64, Date: fromMicro(date.Int64)}
		}
		res.Executions = append(res.Executions, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list executions: %w", err)
	}
	s.overlay(res.Executions...)
	if len(res.Executions) > limit {
		res.Executions = res.Executions[:limit]
		last := res.Executions[limit-1]
		res.NextCursor = store.Cursor{Time: last.StartDate, Key: last.Arn}.Encode()
	}
	return res, nil
}

// ExecutionLeaseAcquire implements store.Store. The leases are taken inside a write
// transaction, which orders them with the commits that check them.
func (s *Store) ExecutionLeaseAcquire(ctx context.Context, p *store.ExecutionLeaseAcquireParams) ([]*store.Execution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now, exp := micro(p.Now), micro(p.ExpiresAt)
	var xs []*store.Execution
	err := s.write(ctx, func(tx *wtx) error {
		s.leaseMu.Lock()
		defer s.leaseMu.Unlock()
		arns, limit, running := p.Arns, len(p.Arns), ""
		if len(arns) == 0 {
			// A takeover: executions whose leases expired, oldest expiry first.
			arns, limit, running = s.leases.expired(now), p.Limit, ` AND status = 'RUNNING'`
		}
		if len(arns) == 0 {
			return nil
		}
		js, err := json.Marshal(arns)
		if err != nil {
			return fmt.Errorf("sqlite: acquire leases: %w", err)
		}
		rows, err := tx.query(ctx, `SELECT `+stateCols+`, id FROM executions
			WHERE arn IN (SELECT value FROM json_each(?))`+running, string(js))
		if err != nil {
			return fmt.Errorf("sqlite: acquire leases: %w", err)
		}
		defer rows.Close()
		byArn := map[string]*store.Execution{}
		ids := map[string]int64{}
		for rows.Next() {
			var id int64
			x, err := scanExecution(rows, stateCols, &id)
			if err != nil {
				return fmt.Errorf("sqlite: acquire leases: %w", err)
			}
			byArn[x.Arn], ids[x.Arn] = x, id
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: acquire leases: %w", err)
		}
		for _, arn := range arns {
			x := byArn[arn]
			if x == nil && running != "" {
				delete(s.leases, arn) // an ended execution needs no lease
			}
			if x == nil || len(xs) == limit || !s.leases.free(arn, p.Owner, now) {
				continue
			}
			s.setLease(x, ids[arn], p.Owner, exp)
			xs = append(xs, x)
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
	return s.write(ctx, func(*wtx) error {
		s.release(p.Owner, p.Arns)
		return nil
	})
}

// ExecutionDeleteClosed implements store.Store. History rows and the Map Run children's rows
// have no foreign key (see the schema), so they are deleted by hand; the other rows of an
// execution go with it (ON DELETE CASCADE).
func (s *Store) ExecutionDeleteClosed(ctx context.Context, p *store.ExecutionDeleteClosedParams) (int, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	var n int
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.query(ctx, `SELECT id FROM executions WHERE status <> 'RUNNING' AND stop_date < ?
			ORDER BY stop_date LIMIT ?`, micro(p.Before), p.Limit)
		if err != nil {
			return fmt.Errorf("sqlite: delete closed executions: %w", err)
		}
		ids := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: delete closed executions: %w", err)
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("sqlite: delete closed executions: %w", err)
		}
		if n = len(ids); n == 0 {
			return nil
		}
		js, err := json.Marshal(ids)
		if err != nil {
			return fmt.Errorf("sqlite: delete closed executions: %w", err)
		}
		for _, q := range []string{
			`DELETE FROM history_events WHERE execution_id IN (SELECT value FROM json_each(?))`,
			`DELETE FROM child_history_events WHERE execution_id IN (SELECT value FROM json_each(?))`,
			`DELETE FROM child_executions WHERE execution_id IN (SELECT value FROM json_each(?))`,
			`DELETE FROM executions WHERE id IN (SELECT value FROM json_each(?))`,
		} {
			if _, err := tx.exec(ctx, q, string(js)); err != nil {
				return fmt.Errorf("sqlite: delete closed executions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ExecutionLeaseReleaseAll implements store.Store.
func (s *Store) ExecutionLeaseReleaseAll(ctx context.Context, p *store.ExecutionLeaseReleaseAllParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(*wtx) error {
		s.leaseMu.Lock()
		defer s.leaseMu.Unlock()
		for arn, l := range s.leases {
			if l.owner == p.Owner && !slices.Contains(p.Except, arn) {
				delete(s.leases, arn)
			}
		}
		return nil
	})
}

// release drops the leases owner holds on arns.
func (s *Store) release(owner string, arns []string) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	for _, arn := range arns {
		if l := s.leases[arn]; l != nil && l.owner == owner {
			delete(s.leases, arn)
		}
	}
}

// historySQL[child][reverse] is HistoryList's query: an execution's events are keyed by its
// row id, a Map Run child's (which has no row) by its parent's and its key, which its ARN
// names in child_executions.
var historySQL = func() (q [2][2]string) {
	for child, from := range []string{
		`history_events WHERE execution_id = (SELECT id FROM executions WHERE arn = ?)`,
		`child_history_events WHERE (execution_id, child_key) =
			(SELECT execution_id, child_key FROM child_executions WHERE arn = ?)`,
	} {
		q[child][0] = `SELECT event_id, type, timestamp, payload FROM ` + from + ` AND event_id > ? ORDER BY event_id LIMIT ?`
		q[child][1] = `SELECT event_id, type, timestamp, payload FROM ` + from + ` AND event_id < ? ORDER BY event_id DESC LIMIT ?`
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
		after = 1<<63 - 1
	}
	rows, err := s.r.QueryContext(ctx, historySQL[b2i(p.Child)][b2i(p.Reverse)], p.ExecutionArn, after, limit+1)
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

// ChildExecutionGet implements store.Store.
func (s *Store) ChildExecutionGet(ctx context.Context, p *store.ChildExecutionGetParams) (*store.ChildExecution, error) {
	var c store.ChildExecution
	err := s.r.QueryRowContext(ctx, `SELECT e.arn, c.child_key FROM child_executions c JOIN executions e ON e.id = c.execution_id
		WHERE c.arn = ?`, p.ExecutionArn).Scan(&c.ParentArn, &c.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: child execution %s: %w", p.ExecutionArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: child execution: %w", err)
	}
	return &c, nil
}
