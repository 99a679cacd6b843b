package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

// TransitionCommitBatch implements store.Store. Each transition runs inside its own savepoint,
// so one that conflicts half-way (an event id already recorded) is undone alone while the
// others in the batch still commit.
func (s *Store) TransitionCommitBatch(ctx context.Context, p *store.TransitionCommitBatchParams) ([]error, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	results := make([]error, len(p.Transitions))
	err := s.write(ctx, func(tx *wtx) error {
		for i, t := range p.Transitions {
			if _, err := tx.exec(ctx, `SAVEPOINT transition`); err != nil {
				return fmt.Errorf("sqlite: savepoint: %w", err)
			}
			err := s.applyTransition(ctx, tx, t)
			if errors.Is(err, store.ErrConflict) {
				results[i] = err
				if _, err := tx.exec(ctx, `ROLLBACK TO transition`); err != nil {
					return fmt.Errorf("sqlite: rollback to savepoint: %w", err)
				}
			} else if err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `RELEASE transition`); err != nil {
				return fmt.Errorf("sqlite: release savepoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

func (s *Store) applyTransition(ctx context.Context, tx *wtx, t *store.Transition) error {
	var id int64
	err := tx.queryRow(ctx, `UPDATE executions SET state = ?1, status = ?2, output = ?3, error = ?4, cause = ?5,
			stop_date = ?6, version = version + 1,
			lease_owner = CASE WHEN ?7 THEN NULL ELSE lease_owner END,
			lease_expires_at = CASE WHEN ?7 THEN NULL ELSE lease_expires_at END
		WHERE arn = ?8 AND version = ?9 AND lease_owner = ?10
		RETURNING id`, nonNil(t.State), t.Status, t.Output, t.Error, t.Cause, microPtr(t.StopDate),
		t.ReleaseLease, t.ExecutionArn, t.Version, t.LeaseOwner).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("execution %s is not at version %d under lease %s: %w",
			t.ExecutionArn, t.Version, t.LeaseOwner, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update execution: %w", err)
	}
	return s.writeMutations(ctx, tx, id, &t.Mutations, t.Status.Terminal())
}

// writeMutations writes what a transition carries besides the execution row. Deletes come
// first so that a transition may cancel a timer and start one under the same id.
func (s *Store) writeMutations(ctx context.Context, tx *wtx, id int64, m *store.Mutations, terminal bool) error {
	type op struct {
		query string
		n     int
		args  func(i int) []any
	}
	now := micro(m.Now)
	ops := []op{
		{`DELETE FROM timers WHERE execution_id = ? AND timer_id = ?`, len(m.TimersDelete),
			func(i int) []any { return []any{id, m.TimersDelete[i]} }},
		{`DELETE FROM effects WHERE execution_id = ? AND effect_id = ?`, len(m.EffectsDelete),
			func(i int) []any { return []any{id, m.EffectsDelete[i]} }},
		{`DELETE FROM task_tokens WHERE execution_id = ? AND token = ?`, len(m.TaskTokensDelete),
			func(i int) []any { return []any{id, m.TaskTokensDelete[i]} }},
		{`DELETE FROM activity_tasks WHERE execution_id = ? AND token = ?`, len(m.TaskTokensDelete),
			func(i int) []any { return []any{id, m.TaskTokensDelete[i]} }},
		{`DELETE FROM inbox WHERE execution_id = ? AND id = ?`, len(m.InboxDelete),
			func(i int) []any { return []any{id, m.InboxDelete[i]} }},
		{`INSERT INTO history_events (execution_id, event_id, type, timestamp, payload) VALUES (?, ?, ?, ?, ?)`,
			len(m.Events), func(i int) []any {
				e := m.Events[i]
				return []any{id, e.ID, e.Type, micro(e.Timestamp), nonNil(e.Payload)}
			}},
		{`INSERT INTO timers (execution_id, timer_id, due_at, available_at) VALUES (?, ?, ?, ?)`,
			len(m.TimersInsert), func(i int) []any {
				t := m.TimersInsert[i]
				return []any{id, t.TimerID, micro(t.Due), micro(t.Due)}
			}},
		{`INSERT INTO effects (execution_id, effect_id, kind, idempotency_key, payload, created_at, available_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, len(m.EffectsInsert), func(i int) []any {
			e := m.EffectsInsert[i]
			avail := now
			if !e.AvailableAt.IsZero() {
				avail = micro(e.AvailableAt)
			}
			return []any{id, e.EffectID, e.Kind, e.IdempotencyKey, e.Payload, now, avail}
		}},
		{`INSERT INTO task_tokens (token, execution_id, task_id, created_at) VALUES (?, ?, ?, ?)`,
			len(m.TaskTokensInsert), func(i int) []any {
				t := m.TaskTokensInsert[i]
				return []any{t.Token, id, t.TaskID, now}
			}},
	}
	if terminal {
		for _, table := range []string{"timers", "task_tokens", "activity_tasks", "inbox"} {
			ops = append(ops, op{`DELETE FROM ` + table + ` WHERE execution_id = ?`, 1,
				func(int) []any { return []any{id} }})
		}
	}
	for _, o := range ops {
		if o.n == 0 {
			continue
		}
		st, err := tx.stmt(ctx, o.query)
		if err != nil {
			return err
		}
		for i := range o.n {
			_, err := st.ExecContext(ctx, o.args(i)...)
			if isUnique(err) {
				return fmt.Errorf("execution row %d: %w: %w", id, store.ErrConflict, err)
			}
			if err != nil {
				return fmt.Errorf("sqlite: write transition: %w", err)
			}
		}
	}
	return nil
}
