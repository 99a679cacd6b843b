package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/store"
)

const functionColumns = `name, config, code_sha256, code_size, revision_id, reserved_concurrency, created_at, updated_at`

func scanFunction(r scanner, withCode bool) (*store.Function, error) {
	var f store.Function
	var reserved sql.NullInt64
	var created, updated int64
	dest := []any{&f.Name, &f.Config, &f.CodeSha256, &f.CodeSize, &f.RevisionID, &reserved, &created, &updated}
	if withCode {
		dest = append(dest, &f.Code)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if reserved.Valid {
		n := int(reserved.Int64)
		f.ReservedConcurrency = &n
	}
	if withCode && f.Code == nil {
		f.Code = []byte{}
	}
	f.CreatedAt, f.UpdatedAt = fromMicro(created), fromMicro(updated)
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
	f := &store.Function{Name: p.Name, Config: p.Config, CodeSha256: p.CodeSha256, CodeSize: int64(len(p.Code)),
		RevisionID: p.RevisionID, CreatedAt: p.CreatedAt.Truncate(time.Microsecond).UTC(), UpdatedAt: p.CreatedAt.Truncate(time.Microsecond).UTC()}
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT INTO functions (name, config, code, code_sha256, code_size, revision_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.Name, p.Config, p.Code, p.CodeSha256, f.CodeSize, p.RevisionID,
			micro(p.CreatedAt), micro(p.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("function %s: %w", p.Name, store.ErrFunctionAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create function: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// FunctionGet implements store.Store.
func (s *Store) FunctionGet(ctx context.Context, p *store.FunctionGetParams) (*store.Function, error) {
	f, err := scanFunction(s.r.QueryRowContext(ctx, functionSelect(p.WithCode)+` WHERE name = ?`, p.Name), p.WithCode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get function: %w", err)
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
	rows, err := s.r.QueryContext(ctx, functionSelect(false)+` WHERE name > ? ORDER BY name LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list functions: %w", err)
	}
	defer rows.Close()
	var res store.FunctionListResult
	for rows.Next() {
		f, err := scanFunction(rows, false)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list functions: %w", err)
		}
		res.Functions = append(res.Functions, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list functions: %w", err)
	}
	if len(res.Functions) > limit {
		res.Functions = res.Functions[:limit]
		res.NextCursor = store.Cursor{Key: res.Functions[limit-1].Name}.Encode()
	}
	return &res, nil
}

// FunctionUpdate implements store.Store.
func (s *Store) FunctionUpdate(ctx context.Context, p *store.FunctionUpdateParams) (*store.Function, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var f *store.Function
	err := s.write(ctx, func(tx *wtx) error {
		var rev string
		err := tx.queryRow(ctx, `SELECT revision_id FROM functions WHERE name = ?`, p.Name).Scan(&rev)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update function: %w", err)
		}
		if p.IfRevisionID != "" && p.IfRevisionID != rev {
			return fmt.Errorf("function %s is at revision %s, not %s: %w", p.Name, rev, p.IfRevisionID, store.ErrConflict)
		}
		if p.Code != nil {
			_, err = tx.exec(ctx, `UPDATE functions SET config = ?, code = ?, code_sha256 = ?, code_size = ?, revision_id = ?, updated_at = ?
				WHERE name = ?`, p.Config, p.Code, p.CodeSha256, len(p.Code), p.RevisionID, micro(p.UpdatedAt), p.Name)
		} else {
			_, err = tx.exec(ctx, `UPDATE functions SET config = ?, revision_id = ?, updated_at = ? WHERE name = ?`,
				p.Config, p.RevisionID, micro(p.UpdatedAt), p.Name)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update function: %w", err)
		}
		f, err = scanFunction(tx.queryRow(ctx, functionSelect(false)+` WHERE name = ?`, p.Name), false)
		if err != nil {
			return fmt.Errorf("sqlite: update function: %w", err)
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
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM functions WHERE name = ?`, p.Name)
		if err != nil {
			return fmt.Errorf("sqlite: delete function: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete function: %w", err)
		} else if n == 0 {
			return fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
		}
		return nil
	})
}

// FunctionConcurrencyPut implements store.Store.
func (s *Store) FunctionConcurrencyPut(ctx context.Context, p *store.FunctionConcurrencyPutParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var reserved any
	if p.Reserved != nil {
		reserved = *p.Reserved
	}
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE functions SET reserved_concurrency = ? WHERE name = ?`, reserved, p.Name)
		if err != nil {
			return fmt.Errorf("sqlite: put function concurrency: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: put function concurrency: %w", err)
		} else if n == 0 {
			return fmt.Errorf("function %s: %w", p.Name, store.ErrNotFound)
		}
		return nil
	})
}
