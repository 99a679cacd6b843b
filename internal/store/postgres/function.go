package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

const functionColumns = `name, config, code_sha256, code_size, revision_id, reserved_concurrency, created_at, updated_at`

func scanFunction(r pgx.Row, withCode bool) (*store.Function, error) {
	var f store.Function
	var reserved *int32
	dest := []any{&f.Name, &f.Config, &f.CodeSha256, &f.CodeSize, &f.RevisionID, &reserved, &f.CreatedAt, &f.UpdatedAt}
	if withCode {
		dest = append(dest, &f.Code)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if reserved != nil {
		n := int(*reserved)
		f.ReservedConcurrency = &n
	}
	if withCode && f.Code == nil {
		f.Code = []byte{}
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return &f, nil
}

func functionSelect(withCode bool) string {
	if withCode {
		return `SELECT ` + functionColumns + `, code FROM functions`
	}
	return `SELECT ` + functionColumns + ` FROM functions`
}

// FunctionCreate implements store.Store.
func (s *Store) FunctionCreate(ctx context.Context, p *store.FunctionCreateParams) (*store.Function, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	created := ts(p.CreatedAt).UTC()
	f := &store.Function{Name: p.Name, Config: p.Config, CodeSha256: p.CodeSha256, CodeSize: int64(len(p.Code)),
		RevisionID: p.RevisionID, CreatedAt: created, UpdatedAt: created}
	_, err := s.pool.Exec(ctx, `INSERT INTO functions (name, config, code, code_sha256, code_size, revision_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, p.Name, p.Config, p.Code, p.CodeSha256, f.CodeSize, p.RevisionID, created)
	if isUnique(err) {
		return nil, fmt.Errorf("function %s: %w", p.Name, store.ErrFunctionAlreadyExists)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: create function: %w", err)
	}
	return f, nil
}

// FunctionGet implements store.Store.
func (s *Store) FunctionGet(ctx context.Context, p *store.FunctionGetParams) (*store.Function, error) {
	f, err := scanFunction(s.pool.QueryRow(ctx, functionSelect(p.WithCode)+` WHERE name = $1`, p.Name), p.WithCode)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get function: %w", err)
	}
	return f, nil
}

// FunctionList implements store.Store.
func (s *Store) FunctionList(ctx context.Context, p *store.FunctionListParams) (*store.FunctionListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	// COLLATE "C": names sort by bytes, as in SQLite, whatever the database's collation.
	rows, err := s.pool.Query(ctx, functionSelect(false)+` WHERE name > $1 COLLATE "C" ORDER BY name COLLATE "C" LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: list functions: %w", err)
	}
	fs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Function, error) { return scanFunction(r, false) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list functions: %w", err)
	}
	res := &store.FunctionListResult{Functions: fs}
	if len(fs) > limit {
		res.Functions = fs[:limit]
		res.NextCursor = store.Cursor{Key: fs[limit-1].Name}.Encode()
	}
	return res, nil
}

// FunctionUpdate implements store.Store. The row lock orders two nodes updating at once, so
// that the compare-and-swap cannot let both win.
func (s *Store) FunctionUpdate(ctx context.Context, p *store.FunctionUpdateParams) (*store.Function, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var f *store.Function
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rev string
		err := tx.QueryRow(ctx, `SELECT revision_id FROM functions WHERE name = $1 FOR UPDATE`, p.Name).Scan(&rev)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: update function: %w", err)
		}
		if p.IfRevisionID != "" && p.IfRevisionID != rev {
			return fmt.Errorf("function %s is at revision %s, not %s: %w", p.Name, rev, p.IfRevisionID, store.ErrConflict)
		}
		var row pgx.Row
		if p.Code != nil {
			row = tx.QueryRow(ctx, `UPDATE functions SET config = $1, code = $2, code_sha256 = $3, code_size = $4, revision_id = $5, updated_at = $6
				WHERE name = $7 RETURNING `+functionColumns, p.Config, p.Code, p.CodeSha256, len(p.Code), p.RevisionID, ts(p.UpdatedAt), p.Name)
		} else {
			row = tx.QueryRow(ctx, `UPDATE functions SET config = $1, revision_id = $2, updated_at = $3 WHERE name = $4 RETURNING `+functionColumns,
				p.Config, p.RevisionID, ts(p.UpdatedAt), p.Name)
		}
		if f, err = scanFunction(row, false); err != nil {
			return fmt.Errorf("postgres: update function: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// FunctionDelete implements store.Store.
func (s *Store) FunctionDelete(ctx context.Context, p *store.FunctionDeleteParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM functions WHERE name = $1`, p.Name)
	if err != nil {
		return fmt.Errorf("postgres: delete function: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
	}
	return nil
}

// FunctionConcurrencyPut implements store.Store.
func (s *Store) FunctionConcurrencyPut(ctx context.Context, p *store.FunctionConcurrencyPutParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE functions SET reserved_concurrency = $1 WHERE name = $2`, p.Reserved, p.Name)
	if err != nil {
		return fmt.Errorf("postgres: put function concurrency: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
	}
	return nil
}
