package sqlstore

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// Options says which database to open and how to pool connections.
type Options struct {
	Driver          string // "sqlite", "mysql" or "postgres"
	DSN             string
	MaxOpenConns    int           // 0: the driver's default for the dialect
	MaxIdleConns    int           // 0: database/sql's default
	ConnMaxLifetime time.Duration // 0: forever
	ConnMaxIdleTime time.Duration // 0: forever
}

// Store is an open database and the user repository on it.
type Store struct {
	db    *sqlx.DB
	d     dialect
	Users *UserRepo
}

// Open opens the database o names. It does not connect: the first query does,
// so a server can start while its database is still coming up.
func Open(o Options) (*Store, error) {
	d, ok := dialects[o.Driver]
	if !ok {
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want sqlite, mysql or postgres)", o.Driver)
	}
	dsn, err := d.prepareDSN(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s DSN: %w", d.name, err)
	}
	db, err := sqlx.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", d.name, err)
	}
	maxOpen := o.MaxOpenConns
	if maxOpen == 0 {
		maxOpen = d.defaultMaxOpen
	}
	db.SetMaxOpenConns(maxOpen)
	if o.MaxIdleConns != 0 {
		db.SetMaxIdleConns(o.MaxIdleConns)
	} else if maxOpen > 0 {
		db.SetMaxIdleConns(maxOpen) // keep the pool warm: reconnecting costs more than idling
	}
	db.SetConnMaxLifetime(o.ConnMaxLifetime)
	db.SetConnMaxIdleTime(o.ConnMaxIdleTime)
	return &Store{db: db, d: d, Users: newUserRepo(db, d)}, nil
}

// Migrate brings the schema to the newest version and returns it.
func (s *Store) Migrate(ctx context.Context) (int64, error) {
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, s.Users.fail("migrate", err)
	}
	return p.GetDBVersion(ctx)
}

// SchemaVersion returns the schema's current version (0 before any migration).
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

func (s *Store) migrator() (*goose.Provider, error) {
	p, err := goose.NewProvider(s.d.goose, s.db.DB, s.d.migrations())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// prepareSQLiteDSN adds the settings a server needs unless the DSN sets them:
// a busy timeout instead of immediate "database is locked" errors, WAL so
// readers do not wait for the writer, and immediate write transactions.
func prepareSQLiteDSN(dsn string) (string, error) {
	if dsn == "" {
		return "", fmt.Errorf("empty")
	}
	path, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", err
	}
	pragmas := strings.Join(q["_pragma"], ",")
	for name, value := range map[string]string{"busy_timeout": "5000", "journal_mode": "WAL", "foreign_keys": "1"} {
		if !strings.Contains(pragmas, name) {
			q.Add("_pragma", name+"("+value+")")
		}
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode(), nil
}
