package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

const eventsColumns = `kind, parent, name, doc, version, created_at, updated_at`

func scanEvents(r pgx.Row) (*store.EventsEntity, error) {
	var e store.EventsEntity
	if err := r.Scan(&e.Kind, &e.Parent, &e.Name, &e.Doc, &e.Version, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return &e, nil
}

// EventsCreate implements store.Store.
func (s *Store) EventsCreate(ctx context.Context, p *store.EventsCreateParams) (*store.EventsEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := ts(p.Now).UTC()
	_, err := s.pool.Exec(ctx, `INSERT INTO events_entities (`+eventsColumns+`) VALUES ($1, $2, $3, $4, 1, $5, $5)`,
		p.Kind, p.Parent, p.Name, p.Doc, now)
	if isUnique(err) {
		return nil, fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrEventsAlreadyExists)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: create events %s: %w", p.Kind, err)
	}
	return &store.EventsEntity{Kind: p.Kind, Parent: p.Parent, Name: p.Name, Doc: p.Doc, Version: 1, CreatedAt: now, UpdatedAt: now}, nil
}

// EventsGet implements store.Store.
func (s *Store) EventsGet(ctx context.Context, p *store.EventsGetParams) (*store.EventsEntity, error) {
	e, err := scanEvents(s.pool.QueryRow(ctx, `SELECT `+eventsColumns+` FROM events_entities WHERE kind = $1 AND parent = $2 AND name = $3`,
		p.Kind, p.Parent, p.Name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get events %s: %w", p.Kind, err)
	}
	return e, nil
}

// EventsList implements store.Store. The key columns are COLLATE "C", so the order is SQLite's.
func (s *Store) EventsList(ctx context.Context, p *store.EventsListParams) (*store.EventsListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + eventsColumns + ` FROM events_entities WHERE kind = $1 AND parent = $2 AND name > $3`
	args := []any{p.Kind, p.Parent, after}
	if p.Prefix != "" {
		args = append(args, p.Prefix)
		q += fmt.Sprintf(` AND starts_with(name, $%d)`, len(args))
	}
	q += fmt.Sprintf(` ORDER BY name LIMIT $%d`, len(args)+1)
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list events %s: %w", p.Kind, err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.EventsEntity, error) { return scanEvents(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list events %s: %w", p.Kind, err)
	}
	res := &store.EventsListResult{Entities: es}
	if len(es) > limit {
		res.Entities = es[:limit]
		res.NextCursor = store.Cursor{Key: es[limit-1].Name}.Encode()
	}
	return res, nil
}

// EventsUpdate implements store.Store.
func (s *Store) EventsUpdate(ctx context.Context, p *store.EventsUpdateParams) (*store.EventsEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var e *store.EventsEntity
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int64
		err := tx.QueryRow(ctx, `SELECT version FROM events_entities WHERE kind = $1 AND parent = $2 AND name = $3 FOR UPDATE`,
			p.Kind, p.Parent, p.Name).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: update events %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("events %s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		e, err = scanEvents(tx.QueryRow(ctx, `UPDATE events_entities SET doc = $1, version = version + 1, updated_at = $2
			WHERE kind = $3 AND parent = $4 AND name = $5 RETURNING `+eventsColumns, p.Doc, ts(p.Now), p.Kind, p.Parent, p.Name))
		if err != nil {
			return fmt.Errorf("postgres: update events %s: %w", p.Kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// EventsDelete implements store.Store.
func (s *Store) EventsDelete(ctx context.Context, p *store.EventsDeleteParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM events_entities WHERE kind = $1 AND parent = $2 AND name = $3`, p.Kind, p.Parent, p.Name)
	if err != nil {
		return fmt.Errorf("postgres: delete events %s: %w", p.Kind, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("events %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	return nil
}
