package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/store"
)

// errRowExists reports a unique violation among the rows a transition writes (an event id
// already recorded, a token in use). The transition's earlier writes must then be undone.
var errRowExists = errors.New("sqlite: row already exists")

// TransitionCommitBatch implements store.Store.
//
// A transition whose version or lease does not match fails at its first statement and writes
// nothing, so the batch runs without savepoints. Only a unique violation, which a correct
// engine never causes, leaves a transition half-written; the batch is then redone with a
// savepoint around each transition, so that the culprit is undone alone.
func (s *Store) TransitionCommitBatch(ctx context.Context, p *store.TransitionCommitBatchParams) ([]error, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	results := make([]error, len(p.Transitions))
	err := s.write(ctx, func(tx *wtx) error {
		var ended []int64
		for i, t := range p.Transitions {
			id, err := s.applyTransition(ctx, tx, t)
			switch {
			case errors.Is(err, store.ErrConflict):
				results[i] = err
			case err != nil:
				return err
			case t.Status.Terminal():
				ended = append(ended, id)
			}
		}
		return s.clearEnded(ctx, tx, ended)
	})
	if !errors.Is(err, errRowExists) {
		if err != nil {
			return nil, err
		}
		s.releaseCommitted(p.Transitions, results)
		return results, nil
	}
	clear(results)
	err = s.write(ctx, func(tx *wtx) error {
		var ended []int64
		for i, t := range p.Transitions {
			if _, err := tx.exec(ctx, `SAVEPOINT transition`); err != nil {
				return fmt.Errorf("sqlite: savepoint: %w", err)
			}
			id, err := s.applyTransition(ctx, tx, t)
			switch {
			case err == nil && t.Status.Terminal():
				ended = append(ended, id)
			case errors.Is(err, errRowExists):
				results[i] = fmt.Errorf("execution %s: %w: %w", t.ExecutionArn, store.ErrConflict, err)
				if _, err := tx.exec(ctx, `ROLLBACK TO transition`); err != nil {
					return fmt.Errorf("sqlite: rollback to savepoint: %w", err)
				}
			case errors.Is(err, store.ErrConflict):
				results[i] = err
			case err != nil:
				return err
			}
			if _, err := tx.exec(ctx, `RELEASE transition`); err != nil {
				return fmt.Errorf("sqlite: release savepoint: %w", err)
			}
		}
		return s.clearEnded(ctx, tx, ended)
	})
	if err != nil {
		return nil, err
	}
	s.releaseCommitted(p.Transitions, results)
	return results, nil
}

// updateSQL[ends] is the compare-and-swap of a transition; the lease is checked in memory
// (see lease.go). It applies only to a running execution: an ended one never changes again.
// Each form sets only the columns the transition changes, because SQLite rewrites the entries
// of every index on a column named in SET, changed or not: a plain step leaves the status
// index alone.
var updateSQL = func() (q [2]string) {
	for _, ends := range []int{0, 1} {
		set := `state = ?1, version = version + 1`
		if ends == 1 {
			set += `, status = ?4, output = ?5, error = ?6, cause = ?7, stop_date = ?8`
		}
		q[ends] = `UPDATE executions SET ` + set + `
			WHERE id = ?2 AND version = ?3 AND status = 'RUNNING'`
	}
	return q
}()

// applyTransition writes one transition and returns the execution's row id.
func (s *Store) applyTransition(ctx context.Context, tx *wtx, t *store.Transition) (int64, error) {
	s.leaseMu.Lock()
	l := s.leases[t.ExecutionArn]
	s.leaseMu.Unlock()
	conflict := func() error {
		return fmt.Errorf("execution %s is not running at version %d under lease %s: %w",
			t.ExecutionArn, t.Version, t.LeaseOwner, store.ErrConflict)
	}
	if l == nil || l.owner != t.LeaseOwner {
		return 0, conflict()
	}
	ends := t.Status.Terminal()
	// The lease knows the row id: updating by it skips a search of the ARN index, and Exec
	// is cheaper than a query with RETURNING.
	id := l.id
	args := []any{nonNil(t.State), id, t.Version}
	if ends {
		args = append(args, t.Status, t.Output, t.Error, t.Cause, microPtr(t.StopDate))
	}
	res, err := tx.exec(ctx, updateSQL[b2i(ends)], args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: update execution: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, errors.Join(conflict(), err)
	}
	return id, s.writeMutations(ctx, tx, id, &t.Mutations, ends)
}

// releaseCommitted drops the leases that committed transitions gave up, and those of the
// executions they ended.
func (s *Store) releaseCommitted(trs []*store.Transition, results []error) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	for i, t := range trs {
		if results[i] != nil || !t.ReleaseLease && !t.Status.Terminal() {
			continue
		}
		if l := s.leases[t.ExecutionArn]; l != nil && l.owner == t.LeaseOwner {
			delete(s.leases, t.ExecutionArn)
		}
	}
}

// clearEnded removes what executions that ended have no more use for: their timers,
// activity tasks and inbox messages, and closes their task tokens (kept so that SendTask*
// can tell them from tokens never issued). It runs once per batch, one statement per table,
// because a statement per ended execution and table cost a quarter of a batch's time.
func (s *Store) clearEnded(ctx context.Context, tx *wtx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	js, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("sqlite: clear ended executions: %w", err)
	}
	for _, table := range []string{"timers", "activity_tasks", "inbox"} {
		if _, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE execution_id IN (SELECT value FROM json_each(?))`, string(js)); err != nil {
			return fmt.Errorf("sqlite: clear ended executions: %w", err)
		}
	}
	if _, err := tx.exec(ctx, `UPDATE task_tokens SET closed = 1
		WHERE execution_id IN (SELECT value FROM json_each(?)) AND NOT closed`, string(js)); err != nil {
		return fmt.Errorf("sqlite: clear ended executions: %w", err)
	}
	return nil
}

// writeMutations writes what a transition carries besides the execution row. Deletes come
// first so that a transition may cancel a timer and start one under the same id. The timers
// of an execution that ends are left to clearEnded.
func (s *Store) writeMutations(ctx context.Context, tx *wtx, id int64, m *store.Mutations, ends bool) error {
	type op struct {
		query string
		n     int
		args  func(i int) []any
	}
	now := micro(m.Now)
	timersDelete := m.TimersDelete
	if ends {
		timersDelete = nil
	}
	ops := []op{
		{`DELETE FROM timers WHERE execution_id = ? AND timer_id = ?`, len(timersDelete),
			func(i int) []any { return []any{id, timersDelete[i]} }},
		{`DELETE FROM effects WHERE execution_id = ? AND effect_id = ?`, len(m.EffectsDelete),
			func(i int) []any { return []any{id, m.EffectsDelete[i]} }},
		{`UPDATE task_tokens SET closed = 1 WHERE execution_id = ? AND token = ?`, len(m.TaskTokensDelete),
			func(i int) []any { return []any{id, m.TaskTokensDelete[i]} }},
		{`DELETE FROM activity_tasks WHERE execution_id = ? AND token = ?`, len(m.TaskTokensDelete),
			func(i int) []any { return []any{id, m.TaskTokensDelete[i]} }},
		{`DELETE FROM inbox WHERE execution_id = ? AND id = ?`, len(m.InboxDelete),
			func(i int) []any { return []any{id, m.InboxDelete[i]} }},
		{`INSERT INTO timers (execution_id, timer_id, due_at) VALUES (?, ?, ?)`,
			len(m.TimersInsert), func(i int) []any {
				t := m.TimersInsert[i]
				return []any{id, t.TimerID, micro(t.Due)}
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
	if err := insertEvents(ctx, tx, id, m.Events); err != nil {
		return err
	}
	if err := insertChildren(ctx, tx, id, m.Children); err != nil {
		return err
	}
	for _, o := range ops {
		if o.n == 0 {
			continue
		}
		st, sctx, err := tx.stmtCtx(ctx, o.query)
		if err != nil {
			return err
		}
		for i := range o.n {
			_, err := st.ExecContext(sctx, o.args(i)...)
			if isUnique(err) {
				return fmt.Errorf("%w: %w", errRowExists, err)
			}
			if err != nil {
				return fmt.Errorf("sqlite: write transition: %w", err)
			}
		}
	}
	return nil
}

// eventChunk bounds the rows of one history INSERT: one statement per few events costs much
// less than one per event, and fixed sizes keep the set of prepared statements small.
const eventChunk = 8

func insertEvents(ctx context.Context, tx *wtx, id int64, events []*store.HistoryEvent) error {
	err := insertChunked(ctx, tx, `INSERT INTO history_events (execution_id, event_id, type, timestamp, payload) VALUES `,
		`(?, ?, ?, ?, ?)`, len(events), func(args []any, i int) []any {
			e := events[i]
			return append(args, id, e.ID, e.Type, micro(e.Timestamp), nonNil(e.Payload))
		})
	if err != nil && !errors.Is(err, errRowExists) {
		return fmt.Errorf("sqlite: insert history: %w", err)
	}
	return err
}

// insertChildren writes the history of the Map Run children of execution id, and records
// those it starts (their event 1). Rows are chunked across children, as a transition of a
// Map Run writes a few events for each of many.
func insertChildren(ctx context.Context, tx *wtx, id int64, children []*store.ChildHistory) error {
	type row struct {
		key int64
		e   *store.HistoryEvent
	}
	var rows []row
	var started []*store.ChildHistory
	for _, c := range children {
		for _, e := range c.Events {
			rows = append(rows, row{c.Key, e})
		}
		if c.Starts() {
			started = append(started, c)
		}
	}
	err := insertChunked(ctx, tx, `INSERT INTO child_executions (arn, execution_id, child_key) VALUES `,
		`(?, ?, ?)`, len(started), func(args []any, i int) []any {
			return append(args, started[i].ExecutionArn, id, started[i].Key)
		})
	if err == nil {
		err = insertChunked(ctx, tx, `INSERT INTO child_history_events (execution_id, child_key, event_id, type, timestamp, payload) VALUES `,
			`(?, ?, ?, ?, ?, ?)`, len(rows), func(args []any, i int) []any {
				r := rows[i]
				return append(args, id, r.key, r.e.ID, r.e.Type, micro(r.e.Timestamp), nonNil(r.e.Payload))
			})
	}
	if err != nil && !errors.Is(err, errRowExists) {
		return fmt.Errorf("sqlite: child history: %w", err)
	}
	return err
}

// insertChunked inserts n rows, up to eventChunk per statement: insert is the statement up
// to VALUES, row one row's placeholders, and appendRow appends row i's arguments. A unique
// violation is errRowExists.
func insertChunked(ctx context.Context, tx *wtx, insert, row string, n int, appendRow func(args []any, i int) []any) error {
	width := strings.Count(row, "?")
	for i := 0; i < n; i += eventChunk {
		k := min(n-i, eventChunk)
		args := make([]any, 0, width*k)
		for j := i; j < i+k; j++ {
			args = appendRow(args, j)
		}
		_, err := tx.exec(ctx, insert+row+strings.Repeat(`, `+row, k-1), args...)
		if isUnique(err) {
			return fmt.Errorf("%w: %w", errRowExists, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
