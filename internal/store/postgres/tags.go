package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// StateMachineTagsReplace implements store.Store.
func (s *Store) StateMachineTagsReplace(ctx context.Context, p *store.TagsReplaceParams) error {
	return s.tagsReplace(ctx, "state_machines", p)
}

// ActivityTagsReplace implements store.Store.
func (s *Store) ActivityTagsReplace(ctx context.Context, p *store.TagsReplaceParams) error {
	return s.tagsReplace(ctx, "activities", p)
}

// tagsReplace writes the tags of a row of table, which is one of the two constant table names
// above (never caller input). The row lock of FOR UPDATE makes the comparison and the write
// one step for concurrent callers on any node.
func (s *Store) tagsReplace(ctx context.Context, table string, p *store.TagsReplaceParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var same bool
		err := tx.QueryRow(ctx, `SELECT COALESCE(tags, ''::bytea) = COALESCE($1::bytea, ''::bytea) FROM `+table+
			` WHERE arn = $2 FOR UPDATE`, p.Old, p.Arn).Scan(&same)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", table, p.Arn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: read tags of %s: %w", p.Arn, err)
		}
		if !same {
			return fmt.Errorf("tags of %s changed: %w", p.Arn, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET tags = $1 WHERE arn = $2`, p.Tags, p.Arn); err != nil {
			return fmt.Errorf("postgres: replace tags of %s: %w", p.Arn, err)
		}
		return nil
	})
}
