package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
// above (never caller input).
func (s *Store) tagsReplace(ctx context.Context, table string, p *store.TagsReplaceParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		var same bool
		err := tx.queryRow(ctx, `SELECT COALESCE(tags, X'') = COALESCE(?, X'') FROM `+table+` WHERE arn = ?`,
			p.Old, p.Arn).Scan(&same)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", table, p.Arn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: read tags of %s: %w", p.Arn, err)
		}
		if !same {
			return fmt.Errorf("tags of %s changed: %w", p.Arn, store.ErrConflict)
		}
		if _, err := tx.exec(ctx, `UPDATE `+table+` SET tags = ? WHERE arn = ?`, p.Tags, p.Arn); err != nil {
			return fmt.Errorf("sqlite: replace tags of %s: %w", p.Arn, err)
		}
		return nil
	})
}
