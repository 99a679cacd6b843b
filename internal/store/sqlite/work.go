package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// anyAvailable reports whether a work table has a row available at now. It reads on a reader
// connection, so that polling an empty queue costs no write transaction: the engine polls
// every queue every round, and the writer is what bounds its throughput. A row committed
// after the read is simply found by the next poll. Like a write statement (see stmtCtx), the
// probe is one index lookup: ctx is checked before it rather than watched during it.
func (s *Store) anyAvailable(ctx context.Context, table string, now int64) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sqlite: poll %s: %w", table, err)
	}
	var one int
	err := s.probes[table].QueryRowContext(context.WithoutCancel(ctx), now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: poll %s: %w", table, err)
	}
	return true, nil
}

// claim selects up to limit rows of a work table available at now and pushes their
// available_at to until, in one write transaction. The single writer is what makes this
// exclusive: no other claim can run between the SELECT and the UPDATE.
func (s *Store) claim(ctx context.Context, table, selectQ string, now, until int64, limit int, scan func(*sql.Rows) (int64, error)) error {
	if ok, err := s.anyAvailable(ctx, table, now); !ok {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		rows, err := tx.query(ctx, selectQ, now, limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim %s: %w", table, err)
		}
		var ids []int64
		for rows.Next() {
			id, err := scan(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim %s: %w", table, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim %s: %w", table, err)
		}
		if len(ids) == 0 {
			return nil
		}
		js, err := json.Marshal(ids)
		if err != nil {
			return fmt.Errorf("sqlite: claim %s: %w", table, err)
		}
		if _, err := tx.exec(ctx, `UPDATE `+table+` SET available_at = ? WHERE rowid IN (SELECT value FROM json_each(?))`,
			until, string(js)); err != nil {
			return fmt.Errorf("sqlite: claim %s: %w", table, err)
		}
		return nil
	})
}

// EffectClaim implements store.Store.
func (s *Store) EffectClaim(ctx context.Context, p *store.EffectClaimParams) ([]*store.Effect, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var es []*store.Effect
	err := s.claim(ctx, "effects", `SELECT f.id, e.arn, f.effect_id, f.kind, f.idempotency_key, f.payload, f.created_at
		FROM effects f JOIN executions e ON e.id = f.execution_id
		WHERE f.available_at <= ? ORDER BY f.available_at, f.id LIMIT ?`,
		micro(p.Now), micro(p.ClaimUntil), p.Limit, func(r *sql.Rows) (int64, error) {
			var id, created int64
			var e store.Effect
			err := r.Scan(&id, &e.ExecutionArn, &e.EffectID, &e.Kind, &e.IdempotencyKey, &e.Payload, &created)
			e.CreatedAt = fromMicro(created)
			es = append(es, &e)
			return id, err
		})
	if err != nil {
		return nil, err
	}
	return es, nil
}

// EffectDelete implements store.Store.
func (s *Store) EffectDelete(ctx context.Context, p *store.EffectDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(ctx, `DELETE FROM effects WHERE effect_id = ?
			AND execution_id = (SELECT id FROM executions WHERE arn = ?)`, p.EffectID, p.ExecutionArn); err != nil {
			return fmt.Errorf("sqlite: delete effect: %w", err)
		}
		return nil
	})
}

// EffectClaimExtend implements store.Store.
func (s *Store) EffectClaimExtend(ctx context.Context, p *store.EffectClaimExtendParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE effects SET available_at = ? WHERE effect_id = ?
			AND execution_id = (SELECT id FROM executions WHERE arn = ?)`, micro(p.Until), p.EffectID, p.ExecutionArn)
		if err != nil {
			return fmt.Errorf("sqlite: extend effect claim: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("effect %s of %s: %w", p.EffectID, p.ExecutionArn, store.ErrNotFound)
		}
		return nil
	})
}

// InboxAppend implements store.Store.
func (s *Store) InboxAppend(ctx context.Context, p *store.InboxAppendParams) (*store.InboxMessage, error) {
	var msg *store.InboxMessage
	err := s.write(ctx, func(tx *wtx) error {
		var id int64
		var status store.ExecutionStatus
		err := tx.queryRow(ctx, `SELECT id, status FROM executions WHERE arn = ?`, p.ExecutionArn).Scan(&id, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("execution %s: %w", p.ExecutionArn, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: append inbox: %w", err)
		case status.Terminal():
			return fmt.Errorf("execution %s is %s: %w", p.ExecutionArn, status, store.ErrExecutionNotRunning)
		}
		if msg, err = s.appendInbox(ctx, tx, id, p.ExecutionArn, p.Payload, p.Now); err != nil || p.EffectID == "" {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM effects WHERE execution_id = ? AND effect_id = ?`, id, p.EffectID); err != nil {
			return fmt.Errorf("sqlite: delete effect: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return msg, nil
}

func (s *Store) appendInbox(ctx context.Context, tx *wtx, execID int64, arn string, payload []byte, now time.Time) (*store.InboxMessage, error) {
	msg := &store.InboxMessage{ExecutionArn: arn, Payload: payload, CreatedAt: fromMicro(micro(now))}
	if err := tx.queryRow(ctx, `INSERT INTO inbox (execution_id, payload, created_at, available_at) VALUES (?1, ?2, ?3, ?3) RETURNING id`, execID, nonNil(payload), micro(now)).Scan(&msg.ID); err != nil {
		return nil, fmt.Errorf("sqlite: append inbox: %w", err)
	}
	return msg, nil
}

// InboxClaim implements store.Store.
func (s *Store) InboxClaim(ctx context.Context, p *store.InboxClaimParams) ([]*store.InboxMessage, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var ms []*store.InboxMessage
	err := s.claim(ctx, "inbox", `SELECT i.id, e.arn, i.payload, i.created_at
		FROM inbox i JOIN executions e ON e.id = i.execution_id
		WHERE i.available_at <= ? ORDER BY i.available_at, i.id LIMIT ?`,
		micro(p.Now), micro(p.ClaimUntil), p.Limit, func(r *sql.Rows) (int64, error) {
			var created int64
			var m store.InboxMessage
			err := r.Scan(&m.ID, &m.ExecutionArn, &m.Payload, &created)
			m.CreatedAt = fromMicro(created)
			ms = append(ms, &m)
			return m.ID, err
		})
	if err != nil {
		return nil, err
	}
	return ms, nil
}

// TaskTokenGet implements store.Store.
func (s *Store) TaskTokenGet(ctx context.Context, p *store.TaskTokenGetParams) (*store.TaskToken, error) {
	t := store.TaskToken{Token: p.Token}
	var created int64
	var closed bool
	err := s.r.QueryRowContext(ctx, `SELECT e.arn, t.task_id, t.created_at, t.closed
		FROM task_tokens t JOIN executions e ON e.id = t.execution_id
		WHERE t.token = ?`, p.Token).Scan(&t.ExecutionArn, &t.TaskID, &created, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("task token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get task token: %w", err)
	}
	if closed {
		return nil, fmt.Errorf("task token: %w", store.ErrTaskTokenClosed)
	}
	t.CreatedAt = fromMicro(created)
	return &t, nil
}

// TaskTokenClose implements store.Store.
func (s *Store) TaskTokenClose(ctx context.Context, p *store.TaskTokenCloseParams) (*store.InboxMessage, error) {
	var msg *store.InboxMessage
	err := s.write(ctx, func(tx *wtx) error {
		var id int64
		var arn string
		err := tx.queryRow(ctx, `UPDATE task_tokens SET closed = 1 WHERE token = ? AND NOT closed
			RETURNING execution_id, (SELECT arn FROM executions WHERE id = execution_id)`, p.Token).Scan(&id, &arn)
		if errors.Is(err, sql.ErrNoRows) {
			return tokenMissing(ctx, tx, p.Token)
		}
		if err != nil {
			return fmt.Errorf("sqlite: close task token: %w", err)
		}
		msg, err = s.appendInbox(ctx, tx, id, arn, p.Payload, p.Now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// tokenMissing tells why a token could not be closed: it is closed already, or was never
// issued.
func tokenMissing(ctx context.Context, tx *wtx, token string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM task_tokens WHERE token = ?`, token).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("task token: %w", store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: close task token: %w", err)
	}
	return fmt.Errorf("task token: %w", store.ErrTaskTokenClosed)
}

// ExecutionClaimDue implements store.Store. It writes nothing: it reads the executions with
// due timers that are not leased on a reader connection, beside the writer, and leases them in
// memory. The leases are read before the read transaction begins: a lease released since was
// released after its commit, which the transaction then sees. One taken since is caught when
// leasing; a state read just before a commit elsewhere fails that commit's version check.
func (s *Store) ExecutionClaimDue(ctx context.Context, p *store.ExecutionClaimDueParams) ([]*store.DueExecution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if ok, err := s.anyAvailable(ctx, "timers", micro(p.Now)); !ok {
		return nil, err
	}
	now := micro(p.Now)
	s.leaseMu.Lock()
	held, err := json.Marshal(s.leases.held(now))
	s.leaseMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due executions: %w", err)
	}
	xs, err := dueExecutions(ctx, s.r, now, string(held), p.Limit)
	if err != nil || len(xs) == 0 {
		return nil, err
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	var leased []*store.DueExecution
	for _, x := range xs {
		if l := s.leases[x.Arn]; l == nil || l.expires <= now {
			s.setLease(x.Execution, x.id, p.Owner, micro(p.ExpiresAt))
			leased = append(leased, &x.DueExecution)
		}
	}
	return leased, nil
}

type dueExecution struct {
	store.DueExecution
	id int64
}

// dueExecutions reads the RUNNING executions with timers due at now, other than those held (a
// JSON array of row ids), with all their due timers; the earliest limit due timers choose the
// executions. One statement reads both: claims are most of what a node's loop does besides
// stepping, when parked executions come due.
func dueExecutions(ctx context.Context, db *sql.DB, now int64, held string, limit int) ([]*dueExecution, error) {
	// Statements this short are not worth the driver's goroutine watching a cancellable
	// context.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: claim due executions: %w", err)
	}
	rows, err := db.QueryContext(context.WithoutCancel(ctx), `SELECT `+stateCols+`, e.id, t.timer_id, t.due_at
		FROM executions e JOIN timers t ON t.execution_id = e.id AND t.due_at <= ?1
		WHERE e.id IN (SELECT t.execution_id FROM timers t JOIN executions e ON e.id = t.execution_id
			WHERE t.due_at <= ?1 AND e.status = 'RUNNING'
			AND t.execution_id NOT IN (SELECT value FROM json_each(?2))
			ORDER BY t.due_at LIMIT ?3)
		ORDER BY t.due_at, t.timer_id`, now, held, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due executions: %w", err)
	}
	defer rows.Close()
	byID := map[int64]*dueExecution{}
	var xs []*dueExecution
	for rows.Next() {
		var id, due int64
		var tm store.Timer
		x, err := scanExecution(rows, stateCols, &id, &tm.TimerID, &due)
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim due executions: %w", err)
		}
		d := byID[id]
		if d == nil {
			d = &dueExecution{DueExecution: store.DueExecution{Execution: x}, id: id}
			byID[id] = d
			xs = append(xs, d)
		}
		tm.ExecutionArn, tm.Due = x.Arn, fromMicro(due)
		d.Timers = append(d.Timers, &tm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: claim due executions: %w", err)
	}
	return xs, nil
}
