package sqlite

import "database/sql"

// ReadDB returns the store's read pool (query_only), for the tests to observe rows no Store
// method returns.
func (s *Store) ReadDB() *sql.DB { return s.r }
