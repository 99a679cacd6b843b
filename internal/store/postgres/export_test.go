package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Pool returns the store's pool, whose sessions use its schema, for the tests to observe rows
// no Store method returns.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
