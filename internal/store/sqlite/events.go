package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

const eventsColumns = `kind, parent, name, doc, version, created_at, updated_at`

func scanEvents(r scanner) (*store.EventsEntity, error) {
	var e store.EventsEntity
	var created, updated int64
	if err := r.Scan(&e.Kind, &e.Parent, &e.Name, &e.Doc, &e.Version, &created, &updated); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &e, nil
}

// EventsCreate implements store.Store.
func (s *Store) EventsCreate(ctx context.Context, p *store.EventsCreateParams) (*store.EventsEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := fromMicro(micro(p.Now))
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT INTO events_entities (`+eventsColumns+`) VALUES (?, ?, ?, ?, 1, ?, ?)`,
			p.Kind, p.Parent, p.Name, p.Doc, micro(now), micro(now))
		if isUnique(err) {
			return fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrEventsAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create events %s: %w", p.Kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &store.EventsEntity{Kind: p.Kind, Parent: p.Parent, Name: p.Name, Doc: p.Doc, Version: 1, CreatedAt: now, UpdatedAt: now}, nil
}

// EventsGet implements store.Store.
func (s *Store) EventsGet(ctx context.Context, p *store.EventsGetParams) (*store.EventsEntity, error) {
	e, err := scanEvents(s.r.QueryRowContext(ctx, `SELECT `+eventsColumns+` FROM events_entities WHERE kind = ? AND parent = ? AND name = ?`,
		p.Kind, p.Parent, p.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get events %s: %w", p.Kind, err)
	}
	return e, nil
}

// EventsList implements store.Store.
func (s *Store) EventsList(ctx context.Context, p *store.EventsListParams) (*store.EventsListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + eventsColumns + ` FROM events_entities WHERE kind = ? AND parent = ? AND name > ?`
	args := []any{p.Kind, p.Parent, after}
	if p.Prefix != "" {
		// substr rather than LIKE: names may hold _.
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(p.Prefix), p.Prefix)
	}
	q += ` ORDER BY name LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list events %s: %w", p.Kind, err)
	}
	defer rows.Close()
	var res store.EventsListResult
	for rows.Next() {
		e, err := scanEvents(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list events %s: %w", p.Kind, err)
		}
		res.Entities = append(res.Entities, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list events %s: %w", p.Kind, err)
	}
	if len(res.Entities) > limit {
		res.Entities = res.Entities[:limit]
		res.NextCursor = store.Cursor{Key: res.Entities[limit-1].Name}.Encode()
	}
	return &res, nil
}

// EventsUpdate implements store.Store.
func (s *Store) EventsUpdate(ctx context.Context, p *store.EventsUpdateParams) (*store.EventsEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var e *store.EventsEntity
	err := s.write(ctx, func(tx *wtx) error {
		var version, created int64
		err := tx.queryRow(ctx, `SELECT version, created_at FROM events_entities WHERE kind = ? AND parent = ? AND name = ?`,
			p.Kind, p.Parent, p.Name).Scan(&version, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update events %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("events %s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		if _, err := tx.exec(ctx, `UPDATE events_entities SET doc = ?, version = ?, updated_at = ?
			WHERE kind = ? AND parent = ? AND name = ?`, p.Doc, version+1, micro(p.Now), p.Kind, p.Parent, p.Name); err != nil {
			return fmt.Errorf("sqlite: update events %s: %w", p.Kind, err)
		}
		e = &store.EventsEntity{Kind: p.Kind, Parent: p.Parent, Name: p.Name, Doc: p.Doc, Version: version + 1,
			CreatedAt: fromMicro(created), UpdatedAt: fromMicro(micro(p.Now))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// EventsDelete implements store.Store.
func (s *Store) EventsDelete(ctx context.Context, p *store.EventsDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM events_entities WHERE kind = ? AND parent = ? AND name = ?`, p.Kind, p.Parent, p.Name)
		if err != nil {
			return fmt.Errorf("sqlite: delete events %s: %w", p.Kind, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete events %s: %w", p.Kind, err)
		} else if n == 0 {
			return fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		return nil
	})
}
