package sqlstore

import "github.com/jmoiron/sqlx"

// DB exposes the pool to the package's tests.
func (s *Store) DB() *sqlx.DB { return s.db }
