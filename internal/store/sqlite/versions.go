package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/stepline/stepline/internal/store"
)

// StateMachineVersionPublish implements store.Store.
func (s *Store) StateMachineVersionPublish(ctx context.Context, p *store.VersionPublishParams) (*store.VersionPublishResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var res store.VersionPublishResult
	err := s.write(ctx, func(tx *wtx) error {
		var latest string
		err := tx.queryRow(ctx, `SELECT latest_revision_id FROM state_machines WHERE arn = ?`, p.StateMachineArn).Scan(&latest)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("state machine %s: %w", p.StateMachineArn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: publish version: %w", err)
		}
		if latest != p.RevisionID {
			return fmt.Errorf("revision %s of %s is not the latest: %w", p.RevisionID, p.StateMachineArn, store.ErrConflict)
		}
		v, err := scanVersion(tx.queryRow(ctx, `SELECT `+versionColumns+` FROM state_machine_versions
			WHERE state_machine_arn = ? AND revision_id = ?`, p.StateMachineArn, p.RevisionID))
		if err == nil {
			res = store.VersionPublishResult{Version: v, Existing: true}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: publish version: %w", err)
		}
		var count int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM state_machine_versions WHERE state_machine_arn = ?`,
			p.StateMachineArn).Scan(&count); err != nil {
			return fmt.Errorf("sqlite: publish version: %w", err)
		}
		if count >= store.MaxVersions {
			return fmt.Errorf("state machine %s has %d versions: %w", p.StateMachineArn, count, store.ErrVersionLimit)
		}
		v = &store.Version{StateMachineArn: p.StateMachineArn, RevisionID: p.RevisionID, Description: p.Description, CreatedAt: p.CreatedAt}
		if err := tx.queryRow(ctx, `UPDATE state_machines SET last_version = last_version + 1 WHERE arn = ? RETURNING last_version`,
			p.StateMachineArn).Scan(&v.Version); err != nil {
			return fmt.Errorf("sqlite: publish version: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO state_machine_versions (state_machine_arn, version, revision_id, description, created_at)
			VALUES (?, ?, ?, ?, ?)`, v.StateMachineArn, v.Version, v.RevisionID, v.Description, micro(v.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: publish version: %w", err)
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

func scanVersion(r scanner) (*store.Version, error) {
	var v store.Version
	var created int64
	if err := r.Scan(&v.StateMachineArn, &v.Version, &v.RevisionID, &v.Description, &created); err != nil {
		return nil, err
	}
	v.CreatedAt = fromMicro(created)
	return &v, nil
}

// StateMachineVersionGet implements store.Store.
func (s *Store) StateMachineVersionGet(ctx context.Context, p *store.VersionGetParams) (*store.Version, error) {
	v, err := scanVersion(s.r.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM state_machine_versions
		WHERE state_machine_arn = ? AND version = ?`, p.StateMachineArn, p.Version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("version %d of %s: %w", p.Version, p.StateMachineArn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get version: %w", err)
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+versionColumns+` FROM state_machine_versions
		WHERE state_machine_arn = ? AND version < ? ORDER BY version DESC LIMIT ?`, p.StateMachineArn, before, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list versions: %w", err)
	}
	defer rows.Close()
	var res store.VersionListResult
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list versions: %w", err)
		}
		res.Versions = append(res.Versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list versions: %w", err)
	}
	if len(res.Versions) > limit {
		res.Versions = res.Versions[:limit]
		res.NextCursor = store.Cursor{Key: strconv.FormatInt(res.Versions[limit-1].Version, 10)}.Encode()
	}
	return &res, nil
}

// StateMachineVersionDelete implements store.Store.
func (s *Store) StateMachineVersionDelete(ctx context.Context, p *store.VersionDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM state_machine_versions WHERE state_machine_arn = ? AND version = ?`,
			p.StateMachineArn, p.Version)
		if isForeignKey(err) {
			return fmt.Errorf("version %d of %s is routed to by an alias: %w", p.Version, p.StateMachineArn, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete version: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete version: %w", err)
		} else if n == 0 {
			return fmt.Errorf("version %d of %s: %w", p.Version, p.StateMachineArn, store.ErrNotFound)
		}
		return nil
	})
}

// StateMachineAliasCreate implements store.Store.
func (s *Store) StateMachineAliasCreate(ctx context.Context, p *store.AliasCreateParams) (*store.Alias, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT INTO state_machine_aliases (arn, state_machine_arn, name, description, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, p.Arn, p.StateMachineArn, p.Name, p.Description, micro(p.CreatedAt), micro(p.CreatedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("alias %s: %w", p.Arn, store.ErrAliasAlreadyExists)
		case isForeignKey(err):
			return fmt.Errorf("state machine %s: %w", p.StateMachineArn, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: create alias: %w", err)
		}
		return insertRoutes(ctx, tx, p.Arn, p.StateMachineArn, p.Routes)
	})
	if err != nil {
		return nil, err
	}
	return s.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: p.Arn})
}

func insertRoutes(ctx context.Context, tx *wtx, alias, machine string, routes []store.AliasRoute) error {
	for _, r := range routes {
		_, err := tx.exec(ctx, `INSERT INTO state_machine_alias_routes (alias_arn, state_machine_arn, version, weight)
			VALUES (?, ?, ?, ?)`, alias, machine, r.Version, r.Weight)
		if isForeignKey(err) {
			return fmt.Errorf("version %d of %s: %w", r.Version, machine, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: alias routes: %w", err)
		}
	}
	return nil
}

const aliasColumns = `arn, state_machine_arn, name, description, created_at, updated_at`

func scanAlias(r scanner) (*store.Alias, error) {
	var a store.Alias
	var created, updated int64
	if err := r.Scan(&a.Arn, &a.StateMachineArn, &a.Name, &a.Description, &created, &updated); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &a, nil
}

// StateMachineAliasGet implements store.Store.
func (s *Store) StateMachineAliasGet(ctx context.Context, p *store.AliasGetParams) (*store.Alias, error) {
	a, err := scanAlias(s.r.QueryRowContext(ctx, `SELECT `+aliasColumns+` FROM state_machine_aliases WHERE arn = ?`, p.Arn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("alias %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get alias: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT version, weight FROM state_machine_alias_routes
		WHERE alias_arn = ? ORDER BY version`, p.Arn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get alias: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.AliasRoute
		if err := rows.Scan(&r.Version, &r.Weight); err != nil {
			return nil, fmt.Errorf("sqlite: get alias: %w", err)
		}
		a.Routes = append(a.Routes, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: get alias: %w", err)
	}
	return a, nil
}

// StateMachineAliasUpdate implements store.Store.
func (s *Store) StateMachineAliasUpdate(ctx context.Context, p *store.AliasUpdateParams) (*store.Alias, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *wtx) error {
		var machine string
		err := tx.queryRow(ctx, `UPDATE state_machine_aliases SET updated_at = ?, description = COALESCE(?, description)
			WHERE arn = ? RETURNING state_machine_arn`, micro(p.UpdatedAt), p.Description, p.Arn).Scan(&machine)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("alias %s: %w", p.Arn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update alias: %w", err)
		}
		if len(p.Routes) == 0 {
			return nil
		}
		if _, err := tx.exec(ctx, `DELETE FROM state_machine_alias_routes WHERE alias_arn = ?`, p.Arn); err != nil {
			return fmt.Errorf("sqlite: update alias: %w", err)
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
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM state_machine_aliases WHERE arn = ?`, p.Arn)
		if err != nil {
			return fmt.Errorf("sqlite: delete alias: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete alias: %w", err)
		} else if n == 0 {
			return fmt.Errorf("alias %s: %w", p.Arn, store.ErrNotFound)
		}
		return nil
	})
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+aliasColumns+` FROM state_machine_aliases
		WHERE state_machine_arn = ? AND arn > ? ORDER BY arn LIMIT ?`, p.StateMachineArn, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list aliases: %w", err)
	}
	defer rows.Close()
	var res store.AliasListResult
	for rows.Next() {
		a, err := scanAlias(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list aliases: %w", err)
		}
		res.Aliases = append(res.Aliases, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list aliases: %w", err)
	}
	if len(res.Aliases) > limit {
		res.Aliases = res.Aliases[:limit]
		res.NextCursor = store.Cursor{Key: res.Aliases[limit-1].Arn}.Encode()
	}
	return &res, nil
}
