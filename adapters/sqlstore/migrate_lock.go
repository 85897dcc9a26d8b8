package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3/lock"
)

// migrationLockName names the lock replicas take to migrate one at a time.
const migrationLockName = "wxbackend_migrate"

// mysqlLocker implements goose's lock.SessionLocker with MySQL's and
// MariaDB's GET_LOCK: a named lock held by the connection goose migrates on,
// released by RELEASE_LOCK or when the connection ends (a replica that
// dies mid-migration frees it).
type mysqlLocker struct {
	wait int // seconds GET_LOCK waits
}

var _ lock.SessionLocker = mysqlLocker{}

// SessionLock implements lock.SessionLocker.
func (l mysqlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", migrationLockName, l.wait).Scan(&got); err != nil {
		return fmt.Errorf("get migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("get migration lock: not granted within %d s (another replica is migrating)", l.wait)
	}
	return nil
}

// SessionUnlock implements lock.SessionLocker.
func (mysqlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", migrationLockName).Scan(&released); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if !released.Valid || released.Int64 != 1 {
		return errors.New("release migration lock: this connection did not hold it")
	}
	return nil
}

// migrationLocker returns the dialect's session locker: PostgreSQL's
// advisory lock (goose's own), MySQL's GET_LOCK; SQLite needs none (a
// database file serves one server, and its writers queue anyway).
func (d dialect) migrationLocker() (lock.SessionLocker, error) {
	switch d.name {
	case postgresDialect.name:
		// Retried every second for up to 5 minutes: a long migration of
		// another replica is waited for, not failed on.
		return lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	case mysqlDialect.name:
		return mysqlLocker{wait: 300}, nil
	}
	return nil, nil
}
