package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// errRowExists reports a unique violation among the rows transitions write: on the fast path
// it cannot be pinned on one transition, on the slow path it is that transition's conflict.
var errRowExists = errors.New("postgres: row already exists")

// TransitionCommitBatch implements store.Store.
//
// The fast path costs a fixed number of round trips whatever the batch size: the version
// compare-and-swaps of all transitions go out as one pipeline, then every row they write goes
// out as one statement per table (arrays unnested server-side). A constraint violation in the
// second step (an event id already recorded, a reused token) cannot be traced to its
// transition that way, so the batch is then redone one transition per savepoint, which gives
// each its own verdict. That path only runs when something is already wrong.
func (s *Store) TransitionCommitBatch(ctx context.Context, p *store.TransitionCommitBatchParams) ([]error, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	trs := p.Transitions
	results := make([]error, len(trs))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, group := range groups(trs) {
			if err := applyGroup(ctx, tx, trs, group, results); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, errRowExists) {
		if err != nil {
			return nil, err
		}
		return results, nil
	}
	clear(results)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i := range trs {
			sp, err := tx.Begin(ctx) // a savepoint
			if err != nil {
				return fmt.Errorf("postgres: savepoint: %w", err)
			}
			err = applyGroup(ctx, sp, trs, []int{i}, results)
			if errors.Is(err, errRowExists) {
				results[i] = fmt.Errorf("execution %s: %w: %w", trs[i].ExecutionArn, store.ErrConflict, err)
				err = sp.Rollback(ctx)
			} else if err == nil {
				err = sp.Commit(ctx)
			}
			if err != nil {
				return fmt.Errorf("postgres: commit transition: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// groups splits a batch into rounds in which each execution appears once, keeping the order
// of an execution's transitions (the second may build on the first). Within a round the
// arrays are in ARN order, the order in which the planner's nested loop over them locks the
// rows, so that two batches do not lock the same executions in opposite orders.
func groups(trs []*store.Transition) [][]int {
	var gs [][]int
	seen := map[string]int{}
	for i, t := range trs {
		n := seen[t.ExecutionArn]
		seen[t.ExecutionArn] = n + 1
		if n == len(gs) {
			gs = append(gs, nil)
		}
		gs[n] = append(gs[n], i)
	}
	for _, g := range gs {
		slices.SortFunc(g, func(a, b int) int { return cmp.Compare(trs[a].ExecutionArn, trs[b].ExecutionArn) })
	}
	return gs
}

// updateSQL[ends][releases] is the compare-and-swap of many transitions of one kind in one
// statement, its rows unnested from arrays: a hundred single-row UPDATEs, even pipelined,
// cost five times as much. It applies only to running executions: an ended one never
// changes again. Each form sets only the columns its transitions change: a step that leaves
// the indexed status and lease columns alone can be a HOT update, which touches no index.
var updateSQL = func() (q [2][2]string) {
	for _, ends := range []int{0, 1} {
		for _, releases := range []int{0, 1} {
			set := `state = u.state, version = e.version + 1`
			cols := `$1::text[], $2::bigint[], $3::text[], $4::bytea[]`
			names := `arn, version, owner, state`
			if ends == 1 {
				set += `, status = u.status, output = u.output, error = u.error, cause = u.cause, stop_date = u.stop_date`
				cols += `, $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[]`
				names += `, status, output, error, cause, stop_date`
			}
			if releases == 1 {
				set += `, lease_owner = NULL, lease_expires_at = NULL`
			}
			q[ends][releases] = `UPDATE executions e SET ` + set + `
				FROM unnest(` + cols + `) AS u (` + names + `)
				WHERE e.arn = u.arn AND e.version = u.version AND e.lease_owner = u.owner AND e.status = 'RUNNING'
				RETURNING e.arn, e.id`
		}
	}
	return q
}()

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// applyGroup commits the transitions trs[group] (distinct executions, in ARN order),
// recording conflicts in results. It returns errRowExists when writing their rows broke a
// unique constraint.
func applyGroup(ctx context.Context, tx pgx.Tx, trs []*store.Transition, group []int, results []error) error {
	var kinds [2][2][]int
	for _, i := range group {
		t := trs[i]
		k := &kinds[b2i(t.Status.Terminal())][b2i(t.ReleaseLease)]
		*k = append(*k, i)
	}
	b := &pgx.Batch{}
	var queued [][]int
	for ends := range 2 {
		for releases := range 2 {
			idx := kinds[ends][releases]
			if len(idx) == 0 {
				continue
			}
			b.Queue(updateSQL[ends][releases], updateArgs(trs, idx, ends == 1)...)
			queued = append(queued, idx)
		}
	}
	br := tx.SendBatch(ctx, b)
	var ids, terminal []int64
	var muts []*store.Mutations
	for _, idx := range queued {
		applied, err := appliedIDs(br)
		if err != nil {
			br.Close()
			return fmt.Errorf("postgres: update executions: %w", err)
		}
		for _, i := range idx {
			t := trs[i]
			id, ok := applied[t.ExecutionArn]
			if !ok {
				results[i] = fmt.Errorf("execution %s is not running at version %d under lease %s: %w",
					t.ExecutionArn, t.Version, t.LeaseOwner, store.ErrConflict)
				continue
			}
			ids = append(ids, id)
			muts = append(muts, &t.Mutations)
			if t.Status.Terminal() {
				terminal = append(terminal, id)
			}
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("postgres: update executions: %w", err)
	}
	return writeMutations(ctx, tx, ids, muts, terminal)
}

// updateArgs returns the arrays updateSQL unnests for trs[idx].
func updateArgs(trs []*store.Transition, idx []int, ends bool) []any {
	n := len(idx)
	arns, owners := make([]string, n), make([]string, n)
	versions, states := make([]int64, n), make([][]byte, n)
	for k, i := range idx {
		t := trs[i]
		arns[k], versions[k], owners[k], states[k] = t.ExecutionArn, t.Version, t.LeaseOwner, nonNil(t.State)
	}
	args := []any{arns, versions, owners, states}
	if !ends {
		return args
	}
	statuses := make([]string, n)
	outputs, errs, causes := make([]*string, n), make([]*string, n), make([]*string, n)
	stops := make([]*time.Time, n)
	for k, i := range idx {
		t := trs[i]
		statuses[k], outputs[k], errs[k], causes[k], stops[k] = string(t.Status), t.Output, t.Error, t.Cause, tsPtr(t.StopDate)
	}
	return append(args, statuses, outputs, errs, causes, stops)
}

func appliedIDs(br pgx.BatchResults) (map[string]int64, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	applied := map[string]int64{}
	for rows.Next() {
		var arn string
		var id int64
		if err := rows.Scan(&arn, &id); err != nil {
			rows.Close()
			return nil, err
		}
		applied[arn] = id
	}
	return applied, rows.Err()
}

// writeMutations writes the rows of transitions of the executions ids (distinct) in one
// pipeline, one statement per table. Deletes come first so that a transition may cancel a
// timer and start one under the same id; the clean-up of ended executions comes last.
func writeMutations(ctx context.Context, tx pgx.Tx, ids []int64, muts []*store.Mutations, terminal []int64) error {
	var (
		timerDelX, effectDelX, tokenDelX, inboxDelX []int64
		timerDel, effectDel, tokenDel               []string
		inboxDel                                    []int64

		evX, evID []int64
		evType    []string
		evTime    []time.Time
		evPayload [][]byte

		childArn         []string
		childX, childKey []int64
		chX, chKey, chID []int64
		chType           []string
		chTime           []time.Time
		chPayload        [][]byte

		timerX   []int64
		timerID  []string
		timerDue []time.Time
		effX     []int64
		effID    []string
		effKind  []string
		effKey   []string
		effPay   [][]byte
		effAt    []time.Time
		effAvail []time.Time
		tokX     []int64
		tok      []string
		tokTask  []string
		tokAt    []time.Time
	)
	for k, m := range muts {
		x := ids[k]
		now := ts(m.Now)
		for _, id := range m.TimersDelete {
			timerDelX, timerDel = append(timerDelX, x), append(timerDel, id)
		}
		for _, id := range m.EffectsDelete {
			effectDelX, effectDel = append(effectDelX, x), append(effectDel, id)
		}
		for _, t := range m.TaskTokensDelete {
			tokenDelX, tokenDel = append(tokenDelX, x), append(tokenDel, t)
		}
		for _, id := range m.InboxDelete {
			inboxDelX, inboxDel = append(inboxDelX, x), append(inboxDel, id)
		}
		for _, e := range m.Events {
			evX, evID, evType = append(evX, x), append(evID, e.ID), append(evType, e.Type)
			evTime, evPayload = append(evTime, ts(e.Timestamp)), append(evPayload, nonNil(e.Payload))
		}
		for _, c := range m.Children {
			for _, e := range c.Events {
				chX, chKey, chID, chType = append(chX, x), append(chKey, c.Key), append(chID, e.ID), append(chType, e.Type)
				chTime, chPayload = append(chTime, ts(e.Timestamp)), append(chPayload, nonNil(e.Payload))
			}
			if c.Starts() {
				childArn, childX, childKey = append(childArn, c.ExecutionArn), append(childX, x), append(childKey, c.Key)
			}
		}
		for _, t := range m.TimersInsert {
			timerX, timerID, timerDue = append(timerX, x), append(timerID, t.TimerID), append(timerDue, ts(t.Due))
		}
		for _, e := range m.EffectsInsert {
			avail := now
			if !e.AvailableAt.IsZero() {
				avail = ts(e.AvailableAt)
			}
			effX, effID, effKind, effKey = append(effX, x), append(effID, e.EffectID), append(effKind, e.Kind), append(effKey, e.IdempotencyKey)
			effPay, effAt, effAvail = append(effPay, e.Payload), append(effAt, now), append(effAvail, avail)
		}
		for _, t := range m.TaskTokensInsert {
			tokX, tok, tokTask, tokAt = append(tokX, x), append(tok, t.Token), append(tokTask, t.TaskID), append(tokAt, now)
		}
	}
	b := &pgx.Batch{}
	queue := func(n int, sql string, args ...any) {
		if n > 0 {
			b.Queue(sql, args...)
		}
	}
	queue(len(timerDel), `DELETE FROM timers WHERE (execution_id, timer_id) IN
		(SELECT * FROM unnest($1::bigint[], $2::text[]))`, timerDelX, timerDel)
	queue(len(effectDel), `DELETE FROM effects WHERE (execution_id, effect_id) IN
		(SELECT * FROM unnest($1::bigint[], $2::text[]))`, effectDelX, effectDel)
	queue(len(tokenDel), `UPDATE task_tokens SET closed = TRUE WHERE (execution_id, token) IN
		(SELECT * FROM unnest($1::bigint[], $2::text[]))`, tokenDelX, tokenDel)
	queue(len(tokenDel), `DELETE FROM activity_tasks WHERE (execution_id, token) IN
		(SELECT * FROM unnest($1::bigint[], $2::text[]))`, tokenDelX, tokenDel)
	queue(len(inboxDel), `DELETE FROM inbox WHERE (execution_id, id) IN
		(SELECT * FROM unnest($1::bigint[], $2::bigint[]))`, inboxDelX, inboxDel)
	queue(len(evID), `INSERT INTO history_events (execution_id, event_id, type, timestamp, payload)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::bytea[])`,
		evX, evID, evType, evTime, evPayload)
	queue(len(childArn), `INSERT INTO child_executions (arn, execution_id, child_key)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])`, childArn, childX, childKey)
	queue(len(chID), `INSERT INTO child_history_events (execution_id, child_key, event_id, type, timestamp, payload)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::bytea[])`,
		chX, chKey, chID, chType, chTime, chPayload)
	queue(len(timerID), `INSERT INTO timers (execution_id, timer_id, due_at)
		SELECT x, id, due FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS t (x, id, due)`,
		timerX, timerID, timerDue)
	queue(len(effID), `INSERT INTO effects (execution_id, effect_id, kind, idempotency_key, payload, created_at, available_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[], $7::timestamptz[])`,
		effX, effID, effKind, effKey, effPay, effAt, effAvail)
	queue(len(tok), `INSERT INTO task_tokens (token, execution_id, task_id, created_at)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[])`, tok, tokX, tokTask, tokAt)
	for _, table := range []string{"timers", "activity_tasks", "inbox"} {
		queue(len(terminal), `DELETE FROM `+table+` WHERE execution_id = ANY($1)`, terminal)
	}
	// Tokens are closed, not removed, so that SendTask* can tell them from tokens never issued.
	queue(len(terminal), `UPDATE task_tokens SET closed = TRUE WHERE execution_id = ANY($1) AND NOT closed`, terminal)
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		if isUnique(err) {
			return fmt.Errorf("%w: %w", errRowExists, err)
		}
		return fmt.Errorf("postgres: write transitions: %w", err)
	}
	return nil
}
