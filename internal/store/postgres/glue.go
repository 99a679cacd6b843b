package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

const glueColumns = `kind, parent, name, doc, active, owner, version, updated_at`

func scanGlue(r pgx.Row) (*store.GlueEntity, error) {
	var e store.GlueEntity
	if err := r.Scan(&e.Kind, &e.Parent, &e.Name, &e.Doc, &e.Active, &e.Owner, &e.Version, &e.UpdatedAt); err != nil {
		return nil, err
	}
	e.UpdatedAt = e.UpdatedAt.UTC()
	return &e, nil
}

// GlueCreate implements store.Store. With a limit, the parent's active rows are counted under
// a transaction-scoped advisory lock on the parent, so that two nodes starting runs of one job
// at once cannot both pass the count.
func (s *Store) GlueCreate(ctx context.Context, p *store.GlueCreateParams) (*store.GlueEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := ts(p.Now).UTC()
	e := &store.GlueEntity{Kind: p.Kind, Parent: p.Parent, Name: p.Name, Doc: p.Doc, Active: p.Active, Owner: p.Owner,
		Version: 1, UpdatedAt: now}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if p.ActiveLimit > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "glue/"+p.Kind+"/"+p.Parent); err != nil {
				return fmt.Errorf("postgres: create glue %s: %w", p.Kind, err)
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM glue_entities WHERE kind = $1 AND parent = $2 AND active`,
				p.Kind, p.Parent).Scan(&n); err != nil {
				return fmt.Errorf("postgres: create glue %s: %w", p.Kind, err)
			}
			if n >= p.ActiveLimit {
				return fmt.Errorf("glue %s %s has %d active of %d: %w", p.Kind, p.Parent, n, p.ActiveLimit, store.ErrGlueLimit)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO glue_entities (`+glueColumns+`) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)`,
			p.Kind, p.Parent, p.Name, p.Doc, p.Active, p.Owner, now)
		if isUnique(err) {
			return fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrGlueAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("postgres: create glue %s: %w", p.Kind, err)
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
	e, err := scanGlue(s.pool.QueryRow(ctx, `SELECT `+glueColumns+` FROM glue_entities WHERE kind = $1 AND parent = $2 AND name = $3`,
		p.Kind, p.Parent, p.Name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get glue %s: %w", p.Kind, err)
	}
	return e, nil
}

// GlueList implements store.Store. The key columns are COLLATE "C", so the order is SQLite's.
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
	q := `SELECT ` + glueColumns + ` FROM glue_entities WHERE kind = $1`
	args := []any{p.Kind}
	if p.AnyParent {
		q += ` AND (parent, name) > ($2, $3)`
		args = append(args, afterParent, afterName)
	} else {
		q += ` AND parent = $2 AND name > $3`
		args = append(args, p.Parent, afterName)
	}
	if p.Owner != "" {
		args = append(args, p.Owner)
		q += fmt.Sprintf(` AND owner = $%d AND active`, len(args))
	}
	if !p.StaleBefore.IsZero() {
		args = append(args, ts(p.StaleBefore))
		q += fmt.Sprintf(` AND active AND updated_at < $%d`, len(args))
	}
	q += fmt.Sprintf(` ORDER BY parent, name LIMIT $%d`, len(args)+1)
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list glue %s: %w", p.Kind, err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.GlueEntity, error) { return scanGlue(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list glue %s: %w", p.Kind, err)
	}
	res := &store.GlueListResult{Entities: es}
	if len(es) > limit {
		res.Entities = es[:limit]
		last := es[limit-1]
		key := last.Name
		if p.AnyParent {
			key = last.Parent + "\x00" + last.Name
		}
		res.NextCursor = store.Cursor{Key: key}.Encode()
	}
	return res, nil
}

// GlueUpdate implements store.Store.
func (s *Store) GlueUpdate(ctx context.Context, p *store.GlueUpdateParams) (*store.GlueEntity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var e *store.GlueEntity
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int64
		err := tx.QueryRow(ctx, `SELECT version FROM glue_entities WHERE kind = $1 AND parent = $2 AND name = $3 FOR UPDATE`,
			p.Kind, p.Parent, p.Name).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: update glue %s: %w", p.Kind, err)
		}
		if p.IfVersion > 0 && p.IfVersion != version {
			return fmt.Errorf("glue %s %s is at version %d, not %d: %w", p.Kind, p.Name, version, p.IfVersion, store.ErrConflict)
		}
		e, err = scanGlue(tx.QueryRow(ctx, `UPDATE glue_entities SET doc = $1, active = $2, owner = $3, version = version + 1, updated_at = $4
			WHERE kind = $5 AND parent = $6 AND name = $7 RETURNING `+glueColumns, p.Doc, p.Active, p.Owner, ts(p.Now),
			p.Kind, p.Parent, p.Name))
		if err != nil {
			return fmt.Errorf("postgres: update glue %s: %w", p.Kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// GlueDelete implements store.Store.
func (s *Store) GlueDelete(ctx context.Context, p *store.GlueDeleteParams) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM glue_entities WHERE kind = $1 AND parent = $2 AND name = $3`, p.Kind, p.Parent, p.Name)
		if err != nil {
			return fmt.Errorf("postgres: delete glue %s: %w", p.Kind, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("glue %s %s: %w", p.Kind, p.Name, store.ErrNotFound)
		}
		for _, c := range p.Children {
			q, args := `DELETE FROM glue_entities WHERE kind = $1 AND parent = $2`, []any{c.Kind, c.Parent}
			if c.ParentPrefix {
				q = `DELETE FROM glue_entities WHERE kind = $1 AND (parent = $2 OR starts_with(parent, $3))`
				args = []any{c.Kind, c.Parent, c.Parent + "\x1f"}
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("postgres: delete glue %s children: %w", p.Kind, err)
			}
		}
		return nil
	})
}
