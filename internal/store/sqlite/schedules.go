package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stepline/stepline/internal/store"
)

const scheduleColumns = `kind, grp, name, state, doc, version, due_at, nominal_at, attempt, created_at, updated_at`

func scanSchedule(r scanner) (*store.Schedule, error) {
	var e store.Schedule
	var due, nominal sql.NullInt64
	var created, updated int64
	if err := r.Scan(&e.Kind, &e.Group, &e.Name, &e.State, &e.Doc, &e.Version, &due, &nominal, &e.Attempt, &created, &updated); err != nil {
		return nil, err
	}
	e.Due, e.Nominal = fromMicroNull(due), fromMicroNull(nominal)
	e.CreatedAt, e.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &e, nil
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := fromMicro(micro(*t))
	return &u
}

// ScheduleCreate implements store.Store.
func (s *Store) ScheduleCreate(ctx context.Context, p *store.ScheduleCreateParams) (*store.Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := fromMicro(micro(p.Now))
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT INTO schedules (`+scheduleColumns+`) VALUES (?, ?, ?, ?, ?, 1, ?, ?, 0, ?, ?)`,
			p.Kind, p.Group, p.Name, p.State, p.Doc, microPtr(p.Due), microPtr(p.Nominal), micro(now), micro(now))
		if isUnique(err) {
			return fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrScheduleAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create %s: %w", p.Kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &store.Schedule{Kind: p.Kind, Group: p.Group, Name: p.Name, State: p.State, Doc: p.Doc, Version: 1,
		Due: truncPtr(p.Due), Nominal: truncPtr(p.Nominal), CreatedAt: now, UpdatedAt: now}, nil
}

// ScheduleGet implements store.Store.
func (s *Store) ScheduleGet(ctx context.Context, p *store.ScheduleGetParams) (*store.Schedule, error) {
	e, err := scanSchedule(s.r.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE kind = ? AND grp = ? AND name = ?`,
		p.Kind, p.Group, p.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s: %w", p.Kind, err)
	}
	return e, nil
}

// ScheduleList implements store.Store. The cursor's key is group NUL name.
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
	q := `SELECT ` + scheduleColumns + ` FROM schedules WHERE kind = ? AND (grp > ? OR (grp = ? AND name > ?))`
	args := []any{p.Kind, afterGroup, afterGroup, afterName}
	if p.Group != "" {
		q += ` AND grp = ?`
		args = append(args, p.Group)
	}
	if p.Prefix != "" {
		// substr rather than LIKE: names may hold _.
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(p.Prefix), p.Prefix)
	}
	if p.State != "" {
		q += ` AND state = ?`
		args = append(args, p.State)
	}
	q += ` ORDER BY grp, name LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", p.Kind, err)
	}
	defer rows.Close()
	var res store.ScheduleListResult
	for rows.Next() {
		e, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list %s: %w", p.Kind, err)
		}
		res.Schedules = append(res.Schedules, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", p.Kind, err)
	}
	if len(res.Schedules) > limit {
		res.Schedules = res.Schedules[:limit]
		last := res.Schedules[limit-1]
		res.NextCursor = store.Cursor{Key: store.ScheduleCursorKey(last.Group, last.Name)}.Encode()
	}
	return &res, nil
}

// ScheduleUpdate implements store.Store.
func (s *Store) ScheduleUpdate(ctx context.Context, p *store.ScheduleUpdateParams) (*store.Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var e *store.Schedule
	err := s.write(ctx, func(tx *wtx) error {
		var version, created int64
		err := tx.queryRow(ctx, `SELECT version, created_at FROM schedules WHERE kind = ? AND grp = ? AND name = ?`,
			p.Kind, p.Group, p.Name).Scan(&version, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("%s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		if _, err := tx.exec(ctx, `UPDATE schedules SET state = ?, doc = ?, version = ?, due_at = ?, nominal_at = ?, attempt = ?,
			claimed_until = NULL, updated_at = ? WHERE kind = ? AND grp = ? AND name = ?`,
			p.State, p.Doc, version+1, microPtr(p.Due), microPtr(p.Nominal), p.Attempt, micro(p.Now), p.Kind, p.Group, p.Name); err != nil {
			return fmt.Errorf("sqlite: update %s: %w", p.Kind, err)
		}
		e = &store.Schedule{Kind: p.Kind, Group: p.Group, Name: p.Name, State: p.State, Doc: p.Doc, Version: version + 1,
			Due: truncPtr(p.Due), Nominal: truncPtr(p.Nominal), Attempt: p.Attempt,
			CreatedAt: fromMicro(created), UpdatedAt: fromMicro(micro(p.Now))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ScheduleDelete implements store.Store.
func (s *Store) ScheduleDelete(ctx context.Context, p *store.ScheduleDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		var version int64
		err := tx.queryRow(ctx, `SELECT version FROM schedules WHERE kind = ? AND grp = ? AND name = ?`,
			p.Kind, p.Group, p.Name).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("%s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		if _, err := tx.exec(ctx, `DELETE FROM schedules WHERE kind = ? AND grp = ? AND name = ?`, p.Kind, p.Group, p.Name); err != nil {
			return fmt.Errorf("sqlite: delete %s: %w", p.Kind, err)
		}
		if p.Kind == store.ScheduleKindGroup {
			if _, err := tx.exec(ctx, `DELETE FROM schedules WHERE kind = ? AND grp = ?`, store.ScheduleKindSchedule, p.Name); err != nil {
				return fmt.Errorf("sqlite: delete the schedules of group %s: %w", p.Name, err)
			}
		}
		return nil
	})
}

// ScheduleClaimDue implements store.Store. SQLite has one writer: the claim is one UPDATE.
func (s *Store) ScheduleClaimDue(ctx context.Context, p *store.ScheduleClaimDueParams) ([]*store.Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out []*store.Schedule
	err := s.write(ctx, func(tx *wtx) error {
		out = out[:0]
		rows, err := tx.query(ctx, `UPDATE schedules SET claimed_until = ?
			WHERE (kind, grp, name) IN (SELECT kind, grp, name FROM schedules
				WHERE due_at IS NOT NULL AND due_at <= ? AND kind <> ? AND (claimed_until IS NULL OR claimed_until <= ?)
				ORDER BY due_at LIMIT ?)
			RETURNING `+scheduleColumns, micro(p.Until), micro(p.Now), store.ScheduleKindGroup, micro(p.Now), p.Limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim due schedules: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanSchedule(rows)
			if err != nil {
				return fmt.Errorf("sqlite: claim due schedules: %w", err)
			}
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim due schedules: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByDue(out)
	return out, nil
}

// sortByDue orders claimed schedules earliest due first, as ScheduleClaimDue promises:
// RETURNING keeps no order.
func sortByDue(es []*store.Schedule) {
	slices.SortFunc(es, func(a, b *store.Schedule) int { return a.Due.Compare(*b.Due) })
}
