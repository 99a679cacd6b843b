package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepline/stepline/internal/store"
)

// StateMachineCreate implements store.Store.
func (s *Store) StateMachineCreate(ctx context.Context, p *store.StateMachineCreateParams) (*store.StateMachine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rev := p.Revision
	if rev.RevisionCreatedAt.IsZero() {
		rev.RevisionCreatedAt = p.CreatedAt
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO state_machines (arn, name, type, created_at, tags, latest_revision_id)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.Arn, p.Name, p.Type, ts(p.CreatedAt), p.Tags, rev.RevisionID)
		if isUnique(err) {
			return fmt.Errorf("state machine %s: %w", p.Arn, store.ErrStateMachineAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("postgres: create state machine: %w", err)
		}
		return insertRevision(ctx, tx, p.Arn, p.Name, p.Type, &rev)
	})
	if err != nil {
		return nil, err
	}
	return s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: p.Arn})
}

func insertRevision(ctx context.Context, tx pgx.Tx, arn, name string, typ store.StateMachineType, r *store.Revision) error {
	_, err := tx.Exec(ctx, `INSERT INTO state_machine_revisions
		(state_machine_arn, revision_id, name, type, created_at, definition, role_arn, description,
		 logging_configuration, tracing_configuration)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		arn, r.RevisionID, name, typ, ts(r.RevisionCreatedAt), r.Definition, r.RoleArn, r.Description,
		r.LoggingConfiguration, r.TracingConfiguration)
	if isUnique(err) {
		// Revision ids are generated unique per revision; a repeat means a caller bug.
		return fmt.Errorf("postgres: revision %s of %s already exists: %w", r.RevisionID, arn, store.ErrInvalidParams)
	}
	if err != nil {
		return fmt.Errorf("postgres: insert revision: %w", err)
	}
	return nil
}

// StateMachineUpdate implements store.Store.
func (s *Store) StateMachineUpdate(ctx context.Context, p *store.StateMachineUpdateParams) (*store.StateMachine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		var typ store.StateMachineType
		err := tx.QueryRow(ctx, `UPDATE state_machines SET latest_revision_id = $1 WHERE arn = $2 RETURNING name, type`,
			p.Revision.RevisionID, p.Arn).Scan(&name, &typ)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("state machine %s: %w", p.Arn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: update state machine: %w", err)
		}
		return insertRevision(ctx, tx, p.Arn, name, typ, &p.Revision)
	})
	if err != nil {
		return nil, err
	}
	return s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: p.Arn, RevisionID: p.Revision.RevisionID})
}

// StateMachineGet implements store.Store.
func (s *Store) StateMachineGet(ctx context.Context, p *store.StateMachineGetParams) (*store.StateMachine, error) {
	// The revision decides name and type, so that a revision whose machine was deleted (and
	// perhaps re-created under the same ARN) still describes what its executions ran.
	const cols = `r.state_machine_arn, r.name, r.type, m.created_at, m.tags, m.arn IS NULL,
		r.revision_id, r.created_at, r.definition, r.role_arn, r.description,
		r.logging_configuration, r.tracing_configuration`
	var row pgx.Row
	if p.RevisionID == "" {
		row = s.pool.QueryRow(ctx, `SELECT `+cols+` FROM state_machines m
			JOIN state_machine_revisions r ON r.state_machine_arn = m.arn AND r.revision_id = m.latest_revision_id
			WHERE m.arn = $1`, p.Arn)
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+cols+` FROM state_machine_revisions r
			LEFT JOIN state_machines m ON m.arn = r.state_machine_arn
			WHERE r.state_machine_arn = $1 AND r.revision_id = $2`, p.Arn, p.RevisionID)
	}
	var sm store.StateMachine
	var created *time.Time
	err := row.Scan(&sm.Arn, &sm.Name, &sm.Type, &created, &sm.Tags, &sm.Deleted,
		&sm.RevisionID, &sm.RevisionCreatedAt, &sm.Definition, &sm.RoleArn, &sm.Description,
		&sm.LoggingConfiguration, &sm.TracingConfiguration)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("state machine %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get state machine: %w", err)
	}
	if created != nil {
		sm.CreatedAt = created.UTC()
	}
	sm.RevisionCreatedAt = sm.RevisionCreatedAt.UTC()
	return &sm, nil
}

// StateMachineList implements store.Store.
func (s *Store) StateMachineList(ctx context.Context, p *store.StateMachineListParams) (*store.StateMachineListResult, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, err
	}
	after, err := store.CursorKey(p.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT arn, name, type, created_at, latest_revision_id
		FROM state_machines WHERE arn > $1 ORDER BY arn LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: list state machines: %w", err)
	}
	sms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.StateMachine, error) {
		var sm store.StateMachine
		err := r.Scan(&sm.Arn, &sm.Name, &sm.Type, &sm.CreatedAt, &sm.RevisionID)
		sm.CreatedAt = sm.CreatedAt.UTC()
		return &sm, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list state machines: %w", err)
	}
	res := &store.StateMachineListResult{StateMachines: sms}
	if len(sms) > limit {
		res.StateMachines = sms[:limit]
		res.NextCursor = store.Cursor{Key: sms[limit-1].Arn}.Encode()
	}
	return res, nil
}

// StateMachineDelete implements store.Store.
func (s *Store) StateMachineDelete(ctx context.Context, p *store.StateMachineDeleteParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM state_machines WHERE arn = $1`, p.Arn)
	if err != nil {
		return fmt.Errorf("postgres: delete state machine: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("state machine %s: %w", p.Arn, store.ErrNotFound)
	}
	return nil
}
