package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// StateMachineVersionPublish implements store.Store. The machine's row lock orders concurrent
// publishes and updates of one machine, so that a revision is published once and numbers are
// handed out in order.
func (s *Store) StateMachineVersionPublish(ctx context.Context, p *store.VersionPublishParams) (*store.VersionPublishResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var res store.VersionPublishResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var latest string
		err := tx.QueryRow(ctx, `SELECT latest_revision_id FROM state_machines WHERE arn = $1 FOR UPDATE`, p.StateMachineArn).Scan(&latest)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("state machine %s: %w", p.StateMachineArn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: publish version: %w", err)
		}
		if latest != p.RevisionID {
			return fmt.Errorf("revision %s of %s is not the latest: %w", p.RevisionID, p.StateMachineArn, store.ErrConflict)
		}
		v, err := scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM state_machine_versions
			WHERE state_machine_arn = $1 AND revision_id = $2`, p.StateMachineArn, p.RevisionID))
		if err == nil {
			res = store.VersionPublishResult{Version: v, Existing: true}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres: publish version: %w", err)
		}
		var count int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM state_machine_versions WHERE state_machine_arn = $1`,
			p.StateMachineArn).Scan(&count); err != nil {
			return fmt.Errorf("postgres: publish version: %w", err)
		}
		if count >= store.MaxVersions {
			return fmt.Errorf("state machine %s has %d versions: %w", p.StateMachineArn, count, store.ErrVersionLimit)
		}
		v = &store.Version{StateMachineArn: p.StateMachineArn, RevisionID: p.RevisionID, Description: p.Description, CreatedAt: ts(p.CreatedAt)}
		if err := tx.QueryRow(ctx, `UPDATE state_machines SET last_version = last_version + 1 WHERE arn = $1 RETURNING last_version`,
			p.StateMachineArn).Scan(&v.Version); err != nil {
			return fmt.Errorf("postgres: publish version: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO state_machine_versions (state_machine_arn, version, revision_id, description, created_at)
			VALUES ($1, $2, $3, $4, $5)`, v.StateMachineArn, v.Version, v.RevisionID, v.Description, v.CreatedAt); err != nil {
			return fmt.Errorf("postgres: publish version: %w", err)
		}
		res = store.VersionPublishResult{Version: v}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

const versionColumns = `state_machine_arn, version, revision_id, description, created_at`

func scanVersion(r pgx.Row) (*store.Version, error) {
	var v store.Version
	if err := r.Scan(&v.StateMachineArn, &v.Version, &v.RevisionID, &v.Description, &v.CreatedAt); err != nil {
		return nil, err
	}
	v.CreatedAt = v.CreatedAt.UTC()
	return &v, nil
}

// StateMachineVersionGet implements store.Store.
func (s *Store) StateMachineVersionGet(ctx context.Context, p *store.VersionGetParams) (*store.Version, error) {
	v, err := scanVersion(s.pool.QueryRow(ctx, `SELECT `+versionColumns+` FROM state_machine_versions
		WHERE state_machine_arn = $1 AND version = $2`, p.StateMachineArn, p.Version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("version %d of %s: %w", p.Version, p.StateMachineArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get version: %w", err)
	}
	return v, nil
}

// StateMachineVersionList implements store.Store.
func (s *Store) StateMachineVersionList(ctx context.Context, p *store.VersionListParams) (*store.VersionListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	before := int64(1) << 62
	if p.Cursor != "" {
		c, err := store.DecodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		if before, err = strconv.ParseInt(c.Key, 10, 64); err != nil {
			return nil, fmt.Errorf("%w: %w", store.ErrInvalidCursor, err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+versionColumns+` FROM state_machine_versions
		WHERE state_machine_arn = $1 AND version < $2 ORDER BY version DESC LIMIT $3`, p.StateMachineArn, before, limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: list versions: %w", err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Version, error) { return scanVersion(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list versions: %w", err)
	}
	res := &store.VersionListResult{Versions: vs}
	if len(vs) > limit {
		res.Versions = vs[:limit]
		res.NextCursor = store.Cursor{Key: strconv.FormatInt(vs[limit-1].Version, 10)}.Encode()
	}
	return res, nil
}

// StateMachineVersionDelete implements store.Store.
func (s *Store) StateMachineVersionDelete(ctx context.Context, p *store.VersionDeleteParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM state_machine_versions WHERE state_machine_arn = $1 AND version = $2`,
		p.StateMachineArn, p.Version)
	if isForeignKey(err) {
		return fmt.Errorf("version %d of %s is routed to by an alias: %w", p.Version, p.StateMachineArn, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete version: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("version %d of %s: %w", p.Version, p.StateMachineArn, store.ErrNotFound)
	}
	return nil
}

// StateMachineAliasCreate implements store.Store.
func (s *Store) StateMachineAliasCreate(ctx context.Context, p *store.AliasCreateParams) (*store.Alias, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO state_machine_aliases (arn, state_machine_arn, name, description, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5)`, p.Arn, p.StateMachineArn, p.Name, p.Description, ts(p.CreatedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("alias %s: %w", p.Arn, store.ErrAliasAlreadyExists)
		case isForeignKey(err):
			return fmt.Errorf("state machine %s: %w", p.StateMachineArn, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("postgres: create alias: %w", err)
		}
		return insertRoutes(ctx, tx, p.Arn, p.StateMachineArn, p.Routes)
	})
	if err != nil {
		return nil, err
	}
	return s.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: p.Arn})
}

func insertRoutes(ctx context.Context, tx pgx.Tx, alias, machine string, routes []store.AliasRoute) error {
	// The routes' key on versions is deferred (see the migration); checking it now tells which
	// route failed.
	if _, err := tx.Exec(ctx, `SET CONSTRAINTS ALL IMMEDIATE`); err != nil {
		return fmt.Errorf("postgres: alias routes: %w", err)
	}
	for _, r := range routes {
		_, err := tx.Exec(ctx, `INSERT INTO state_machine_alias_routes (alias_arn, state_machine_arn, version, weight)
			VALUES ($1, $2, $3, $4)`, alias, machine, r.Version, r.Weight)
		if isForeignKey(err) {
			return fmt.Errorf("version %d of %s: %w", r.Version, machine, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: alias routes: %w", err)
		}
	}
	return nil
}

const aliasColumns = `arn, state_machine_arn, name, description, created_at, updated_at`

func scanAlias(r pgx.Row) (*store.Alias, error) {
	var a store.Alias
	if err := r.Scan(&a.Arn, &a.StateMachineArn, &a.Name, &a.Description, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

// StateMachineAliasGet implements store.Store.
func (s *Store) StateMachineAliasGet(ctx context.Context, p *store.AliasGetParams) (*store.Alias, error) {
	a, err := scanAlias(s.pool.QueryRow(ctx, `SELECT `+aliasColumns+` FROM state_machine_aliases WHERE arn = $1`, p.Arn))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("alias %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get alias: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT version, weight FROM state_machine_alias_routes
		WHERE alias_arn = $1 ORDER BY version`, p.Arn)
	if err != nil {
		return nil, fmt.Errorf("postgres: get alias: %w", err)
	}
	a.Routes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AliasRoute, error) {
		var ar store.AliasRoute
		err := r.Scan(&ar.Version, &ar.Weight)
		return ar, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: get alias: %w", err)
	}
	return a, nil
}

// StateMachineAliasUpdate implements store.Store.
func (s *Store) StateMachineAliasUpdate(ctx context.Context, p *store.AliasUpdateParams) (*store.Alias, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var machine string
		err := tx.QueryRow(ctx, `UPDATE state_machine_aliases SET updated_at = $1, description = COALESCE($2, description)
			WHERE arn = $3 RETURNING state_machine_arn`, ts(p.UpdatedAt), p.Description, p.Arn).Scan(&machine)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("alias %s: %w", p.Arn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: update alias: %w", err)
		}
		if len(p.Routes) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM state_machine_alias_routes WHERE alias_arn = $1`, p.Arn); err != nil {
			return fmt.Errorf("postgres: update alias: %w", err)
		}
		return insertRoutes(ctx, tx, p.Arn, machine, p.Routes)
	})
	if err != nil {
		return nil, err
	}
	return s.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: p.Arn})
}

// StateMachineAliasDelete implements store.Store.
func (s *Store) StateMachineAliasDelete(ctx context.Context, p *store.AliasDeleteParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM state_machine_aliases WHERE arn = $1`, p.Arn)
	if err != nil {
		return fmt.Errorf("postgres: delete alias: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("alias %s: %w", p.Arn, store.ErrNotFound)
	}
	return nil
}

// StateMachineAliasList implements store.Store.
func (s *Store) StateMachineAliasList(ctx context.Context, p *store.AliasListParams) (*store.AliasListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+aliasColumns+` FROM state_machine_aliases
		WHERE state_machine_arn = $1 AND arn > $2 ORDER BY arn LIMIT $3`, p.StateMachineArn, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: list aliases: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Alias, error) { return scanAlias(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list aliases: %w", err)
	}
	res := &store.AliasListResult{Aliases: as}
	if len(as) > limit {
		res.Aliases = as[:limit]
		res.NextCursor = store.Cursor{Key: as[limit-1].Arn}.Encode()
	}
	return res, nil
}
