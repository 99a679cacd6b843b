package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

const scheduleColumns = `kind, grp, name, state, doc, version, due_at, nominal_at, attempt, created_at, updated_at`

func scanSchedule(r pgx.Row) (*store.Schedule, error) {
	var e store.Schedule
	if err := r.Scan(&e.Kind, &e.Group, &e.Name, &e.State, &e.Doc, &e.Version, &e.Due, &e.Nominal, &e.Attempt, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	e.Due, e.Nominal = utcPtr(e.Due), utcPtr(e.Nominal)
	return &e, nil
}

// ScheduleCreate implements store.Store.
func (s *Store) ScheduleCreate(ctx context.Context, p *store.ScheduleCreateParams) (*store.Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e, err := scanSchedule(s.pool.QueryRow(ctx, `INSERT INTO schedules (`+scheduleColumns+`) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, 0, $8, $8)
		RETURNING `+scheduleColumns, p.Kind, p.Group, p.Name, p.State, p.Doc, tsPtr(p.Due), tsPtr(p.Nominal), ts(p.Now)))
	if isUnique(err) {
		return nil, fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrScheduleAlreadyExists)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: create %s: %w", p.Kind, err)
	}
	return e, nil
}

// ScheduleGet implements store.Store.
func (s *Store) ScheduleGet(ctx context.Context, p *store.ScheduleGetParams) (*store.Schedule, error) {
	e, err := scanSchedule(s.pool.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE kind = $1 AND grp = $2 AND name = $3`,
		p.Kind, p.Group, p.Name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get %s: %w", p.Kind, err)
	}
	return e, nil
}

// ScheduleList implements store.Store. The key columns are COLLATE "C", so the order is SQLite's.
func (s *Store) ScheduleList(ctx context.Context, p *store.ScheduleListParams) (*store.ScheduleListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	c, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	afterGroup, afterName := store.ScheduleCursorSplit(c)
	q := `SELECT ` + scheduleColumns + ` FROM schedules WHERE kind = $1 AND (grp > $2 OR (grp = $2 AND name > $3))`
	args := []any{p.Kind, afterGroup, afterName}
	if p.Group != "" {
		args = append(args, p.Group)
		q += fmt.Sprintf(` AND grp = $%d`, len(args))
	}
	if p.Prefix != "" {
		args = append(args, p.Prefix)
		q += fmt.Sprintf(` AND starts_with(name, $%d)`, len(args))
	}
	if p.State != "" {
		args = append(args, p.State)
		q += fmt.Sprintf(` AND state = $%d`, len(args))
	}
	q += fmt.Sprintf(` ORDER BY grp, name LIMIT $%d`, len(args)+1)
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s: %w", p.Kind, err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Schedule, error) { return scanSchedule(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s: %w", p.Kind, err)
	}
	res := &store.ScheduleListResult{Schedules: es}
	if len(es) > limit {
		res.Schedules = es[:limit]
		last := es[limit-1]
		res.NextCursor = store.Cursor{Key: store.ScheduleCursorKey(last.Group, last.Name)}.Encode()
	}
	return res, nil
}

// ScheduleUpdate implements store.Store.
func (s *Store) ScheduleUpdate(ctx context.Context, p *store.ScheduleUpdateParams) (*store.Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var e *store.Schedule
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int64
		err := tx.QueryRow(ctx, `SELECT version FROM schedules WHERE kind = $1 AND grp = $2 AND name = $3 FOR UPDATE`,
			p.Kind, p.Group, p.Name).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: update %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("%s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		e, err = scanSchedule(tx.QueryRow(ctx, `UPDATE schedules SET state = $1, doc = $2, version = version + 1, due_at = $3,
			nominal_at = $4, attempt = $5, claimed_until = NULL, updated_at = $6
			WHERE kind = $7 AND grp = $8 AND name = $9 RETURNING `+scheduleColumns,
			p.State, p.Doc, tsPtr(p.Due), tsPtr(p.Nominal), p.Attempt, ts(p.Now), p.Kind, p.Group, p.Name))
		if err != nil {
			return fmt.Errorf("postgres: update %s: %w", p.Kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ScheduleDelete implements store.Store.
func (s *Store) ScheduleDelete(ctx context.Context, p *store.ScheduleDeleteParams) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int64
		err := tx.QueryRow(ctx, `SELECT version FROM schedules WHERE kind = $1 AND grp = $2 AND name = $3 FOR UPDATE`,
			p.Kind, p.Group, p.Name).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: delete %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("%s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM schedules WHERE kind = $1 AND grp = $2 AND name = $3`, p.Kind, p.Group, p.Name); err != nil {
			return fmt.Errorf("postgres: delete %s: %w", p.Kind, err)
		}
		if p.Kind == store.ScheduleKindGroup {
			if _, err := tx.Exec(ctx, `DELETE FROM schedules WHERE kind = $1 AND grp = $2`, store.ScheduleKindSchedule, p.Name); err != nil {
				return fmt.Errorf("postgres: delete the schedules of group %s: %w", p.Name, err)
			}
		}
		return nil
	})
}

// ScheduleClaimDue implements store.Store: rows another node is claiming are skipped, not
// waited for.
func (s *Store) ScheduleClaimDue(ctx context.Context, p *store.ScheduleClaimDueParams) ([]*store.Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `UPDATE schedules SET claimed_until = $1
		WHERE (kind, grp, name) IN (SELECT kind, grp, name FROM schedules
			WHERE due_at IS NOT NULL AND due_at <= $2 AND kind <> $3 AND (claimed_until IS NULL OR claimed_until <= $2)
			ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+scheduleColumns, ts(p.Until), ts(p.Now), store.ScheduleKindGroup, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due schedules: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Schedule, error) { return scanSchedule(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due schedules: %w", err)
	}
	sortByDue(es)
	return es, nil
}

// sortByDue orders claimed schedules earliest due first, as ScheduleClaimDue promises:
// RETURNING keeps no order.
func sortByDue(es []*store.Schedule) {
	slices.SortFunc(es, func(a, b *store.Schedule) int { return a.Due.Compare(*b.Due) })
}
