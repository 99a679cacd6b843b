package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/store"
)

const insertRevision = `INSERT INTO state_machine_revisions
	(state_machine_arn, revision_id, name, type, created_at, definition, role_arn, description,
	 logging_configuration, tracing_configuration)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// StateMachineCreate implements store.Store.
func (s *Store) StateMachineCreate(ctx context.Context, p *store.StateMachineCreateParams) (*store.StateMachine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rev := p.Revision
	if rev.RevisionCreatedAt.IsZero() {
		rev.RevisionCreatedAt = p.CreatedAt
	}
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT INTO state_machines (arn, name, type, created_at, tags, latest_revision_id)
			VALUES (?, ?, ?, ?, ?, ?)`, p.Arn, p.Name, p.Type, micro(p.CreatedAt), p.Tags, rev.RevisionID)
		if isUnique(err) {
			return fmt.Errorf("state machine %s: %w", p.Arn, store.ErrStateMachineAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create state machine: %w", err)
		}
		return s.insertRevision(ctx, tx, p.Arn, p.Name, p.Type, &rev)
	})
	if err != nil {
		return nil, err
	}
	return s.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: p.Arn})
}

func (s *Store) insertRevision(ctx context.Context, tx *wtx, arn, name string, typ store.StateMachineType, r *store.Revision) error {
	_, err := tx.exec(ctx, insertRevision, arn, r.RevisionID, name, typ, micro(r.RevisionCreatedAt),
		r.Definition, r.RoleArn, r.Description, r.LoggingConfiguration, r.TracingConfiguration)
	if isUnique(err) {
		// Revision ids are generated unique per revision; a repeat means a caller bug.
		return fmt.Errorf("sqlite: revision %s of %s already exists: %w", r.RevisionID, arn, store.ErrInvalidParams)
	}
	if err != nil {
		return fmt.Errorf("sqlite: insert revision: %w", err)
	}
	return nil
}

// StateMachineUpdate implements store.Store.
func (s *Store) StateMachineUpdate(ctx context.Context, p *store.StateMachineUpdateParams) (*store.StateMachine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *wtx) error {
		var name string
		var typ store.StateMachineType
		err := tx.queryRow(ctx, `UPDATE state_machines SET latest_revision_id = ? WHERE arn = ? RETURNING name, type`,
			p.Revision.RevisionID, p.Arn).Scan(&name, &typ)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("state machine %s: %w", p.Arn, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update state machine: %w", err)
		}
		return s.insertRevision(ctx, tx, p.Arn, name, typ, &p.Revision)
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
	var row *sql.Row
	if p.RevisionID == "" {
		row = s.r.QueryRowContext(ctx, `SELECT `+cols+` FROM state_machines m
			JOIN state_machine_revisions r ON r.state_machine_arn = m.arn AND r.revision_id = m.latest_revision_id
			WHERE m.arn = ?`, p.Arn)
	} else {
		row = s.r.QueryRowContext(ctx, `SELECT `+cols+` FROM state_machine_revisions r
			LEFT JOIN state_machines m ON m.arn = r.state_machine_arn
			WHERE r.state_machine_arn = ? AND r.revision_id = ?`, p.Arn, p.RevisionID)
	}
	var sm store.StateMachine
	var created sql.NullInt64
	var revCreated int64
	err := row.Scan(&sm.Arn, &sm.Name, &sm.Type, &created, &sm.Tags, &sm.Deleted,
		&sm.RevisionID, &revCreated, &sm.Definition, &sm.RoleArn, &sm.Description,
		&sm.LoggingConfiguration, &sm.TracingConfiguration)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("state machine %s: %w", p.Arn, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get state machine: %w", err)
	}
	if created.Valid {
		sm.CreatedAt = fromMicro(created.Int64)
	}
	sm.RevisionCreatedAt = fromMicro(revCreated)
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
	rows, err := s.r.QueryContext(ctx, `SELECT arn, name, type, created_at, latest_revision_id
		FROM state_machines WHERE arn > ? ORDER BY arn LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list state machines: %w", err)
	}
	defer rows.Close()
	res := &store.StateMachineListResult{}
	for rows.Next() {
		var sm store.StateMachine
		var created int64
		if err := rows.Scan(&sm.Arn, &sm.Name, &sm.Type, &created, &sm.RevisionID); err != nil {
			return nil, fmt.Errorf("sqlite: list state machines: %w", err)
		}
		sm.CreatedAt = fromMicro(created)
		res.StateMachines = append(res.StateMachines, &sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list state machines: %w", err)
	}
	if len(res.StateMachines) > limit {
		res.StateMachines = res.StateMachines[:limit]
		res.NextCursor = store.Cursor{Key: res.StateMachines[limit-1].Arn}.Encode()
	}
	return res, nil
}

// StateMachineDelete implements store.Store.
func (s *Store) StateMachineDelete(ctx context.Context, p *store.StateMachineDeleteParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(ctx, `DELETE FROM state_machines WHERE arn = ?`, p.Arn)
		if err != nil {
			return fmt.Errorf("sqlite: delete state machine: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete state machine: %w", err)
		} else if n == 0 {
			return fmt.Errorf("state machine %s: %w", p.Arn, store.ErrNotFound)
		}
		return nil
	})
}
