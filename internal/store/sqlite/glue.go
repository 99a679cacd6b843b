package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/store"
)

const glueColumns = `kind, parent, name, doc, active, owner, version, updated_at`

func scanGlue(r scanner) (*store.GlueEntity, error) {
	var e store.GlueEntity
	var updated int64
	if err := r.Scan(&e.Kind, &e.Parent, &e.Name, &e.Doc, &e.Active, &e.Owner, &e.Version, &updated); err != nil {
		return nil, err
	}
	e.UpdatedAt = fromMicro(updated)
	return &e, nil
}

// GlueCreate implements store.Store.
func (s *Store) GlueCreate(ctx context.Context, p *store.GlueCreateParams) (*store.GlueEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e := &store.GlueEntity{Kind: p.Kind, Parent: p.Parent, Name: p.Name, Doc: p.Doc, Active: p.Active, Owner: p.Owner,
		Version: 1, UpdatedAt: fromMicro(micro(p.Now))}
	err := s.write(ctx, func(tx *wtx) error {
		if p.ActiveLimit > 0 {
			var n int
			err := tx.queryRow(ctx, `SELECT count(*) FROM glue_entities WHERE kind = ? AND parent = ? AND active = 1`,
				p.Kind, p.Parent).Scan(&n)
			if err != nil {
				return fmt.Errorf("sqlite: create glue %s: %w", p.Kind, err)
			}
			if n >= p.ActiveLimit {
				return fmt.Errorf("glue %s %s has %d active of %d: %w", p.Kind, p.Parent, n, p.ActiveLimit, store.ErrGlueLimit)
			}
		}
		_, err := tx.exec(ctx, `INSERT INTO glue_entities (`+glueColumns+`) VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
			p.Kind, p.Parent, p.Name, p.Doc, p.Active, p.Owner, micro(p.Now))
		if isUnique(err) {
			return fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrGlueAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create glue %s: %w", p.Kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// GlueGet implements store.Store.
func (s *Store) GlueGet(ctx context.Context, p *store.GlueGetParams) (*store.GlueEntity, error) {
	e, err := scanGlue(s.r.QueryRowContext(ctx, `SELECT `+glueColumns+` FROM glue_entities WHERE kind = ? AND parent = ? AND name = ?`,
		p.Kind, p.Parent, p.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get glue %s: %w", p.Kind, err)
	}
	return e, nil
}

// GlueList implements store.Store. With AnyParent the order is (parent, name), and the cursor
// holds both.
func (s *Store) GlueList(ctx context.Context, p *store.GlueListParams) (*store.GlueListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	afterParent, afterName := "", ""
	if p.Cursor != "" {
		c, err := store.DecodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		afterName = c.Key
		if p.AnyParent {
			var ok bool
			if afterParent, afterName, ok = strings.Cut(c.Key, "\x00"); !ok {
				return nil, store.ErrInvalidCursor
			}
		}
	}
	q := `SELECT ` + glueColumns + ` FROM glue_entities WHERE kind = ?`
	args := []any{p.Kind}
	if p.AnyParent {
		q += ` AND (parent > ? OR (parent = ? AND name > ?))`
		args = append(args, afterParent, afterParent, afterName)
	} else {
		q += ` AND parent = ? AND name > ?`
		args = append(args, p.Parent, afterName)
	}
	if p.Owner != "" {
		q += ` AND owner = ? AND active = 1`
		args = append(args, p.Owner)
	}
	if !p.StaleBefore.IsZero() {
		q += ` AND active = 1 AND updated_at < ?`
		args = append(args, micro(p.StaleBefore))
	}
	q += ` ORDER BY parent, name LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list glue %s: %w", p.Kind, err)
	}
	defer rows.Close()
	var res store.GlueListResult
	for rows.Next() {
		e, err := scanGlue(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list glue %s: %w", p.Kind, err)
		}
		res.Entities = append(res.Entities, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list glue %s: %w", p.Kind, err)
	}
	if len(res.Entities) > limit {
		res.Entities = res.Entities[:limit]
		last := res.Entities[limit-1]
		key := last.Name
		if p.AnyParent {
			key = last.Parent + "\x00" + last.Name
		}
		res.NextCursor = store.Cursor{Key: key}.Encode()
	}
	return &res, nil
}

// GlueUpdate implements store.Store.
func (s *Store) GlueUpdate(ctx context.Context, p *store.GlueUpdateParams) (*store.GlueEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var e *store.GlueEntity
	err := s.write(ctx, func(tx *wtx) error {
		var version int64
		err := tx.queryRow(ctx, `SELECT version FROM glue_entities WHERE kind = ? AND parent = ? AND name = ?`,
			p.Kind, p.Parent, p.Name).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update glue %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("glue %s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		if _, err := tx.exec(ctx, `UPDATE glue_entities SET doc = ?, active = ?, owner = ?, version = ?, updated_at = ?
			WHERE kind = ? AND parent = ? AND name = ?`, p.Doc, p.Active, p.Owner, version+1, micro(p.Now),
			p.Kind, p.Parent, p.Name); err != nil {
			return fmt.Errorf("sqlite: update glue %s: %w", p.Kind, err)
		}
		e = &store.GlueEntity{Kind: p.Kind, Parent: p.Parent, Name: p.Name, Doc: p.Doc, Active: p.Active, Owner: p.Owner,
			Version: version + 1, UpdatedAt: fromMicro(micro(p.Now))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// GlueDelete implements store.Store.
func (s *Store) GlueDelete(ctx context.Context, p *store.GlueDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM glue_entities WHERE kind = ? AND parent = ? AND name = ?`, p.Kind, p.Parent, p.Name)
		if err != nil {
			return fmt.Errorf("sqlite: delete glue %s: %w", p.Kind, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete glue %s: %w", p.Kind, err)
		} else if n == 0 {
			return fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		for _, c := range p.Children {
			q, args := `DELETE FROM glue_entities WHERE kind = ? AND parent = ?`, []any{c.Kind, c.Parent}
			if c.ParentPrefix {
				// substr rather than LIKE: names may hold % and _.
				q = `DELETE FROM glue_entities WHERE kind = ? AND (parent = ? OR substr(parent, 1, ?) = ?)`
				args = []any{c.Kind, c.Parent, len(c.Parent) + 1, c.Parent + "\x1f"}
			}
			if _, err := tx.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("sqlite: delete glue %s children: %w", p.Kind, err)
			}
		}
		return nil
	})
}
