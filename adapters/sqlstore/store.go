package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	_ "github.com/go-sql-driver/mysql" // registered as "mysql"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registered as "postgres"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"wxbackend/config/setting"
)

// Options say which database to open and how to pool connections; each
// tagged field is a setting (see config/setting).
type Options struct {
	Driver          string        `setting:"db-driver" default:"sqlite" usage:"user database: sqlite, mysql or postgres"`
	DSN             DSN           `setting:"db-dsn" default:"file:wxbackend.db" usage:"data source name of the user database (its password is never printed)"`
	Migrate         bool          `setting:"db-migrate" default:"true" usage:"bring the schema up to date at start (wxbackend migrate does it alone)"`
	MaxOpenConns    int           `setting:"db-max-open-conns" default:"0" usage:"most open connections (0: 1 for SQLite, 32 for MySQL and PostgreSQL)"`
	MaxIdleConns    int           `setting:"db-max-idle-conns" default:"0" usage:"most idle connections (0: as many as open)"`
	ConnMaxLifetime time.Duration `setting:"db-conn-max-lifetime" default:"0s" usage:"longest life of a connection (0: forever)"`
	ConnMaxIdleTime time.Duration `setting:"db-conn-max-idle-time" default:"0s" usage:"longest idle time of a connection (0: forever)"`
	QueryTimeout    time.Duration `setting:"db-query-timeout" default:"5s" usage:"longest a database call may take before code 9"`
	Prepare         bool          `setting:"db-prepare" default:"true" usage:"PostgreSQL: prepare the statements every request runs, once per connection (turn off behind a PgBouncer older than 1.21 in transaction mode)"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	drivers := make([]string, 0, len(dialects))
	for name := range dialects {
		drivers = append(drivers, name)
	}
	slices.Sort(drivers)
	p.OneOf(&o.Driver, drivers...)
	if o.DSN == "" {
		p.Add(&o.DSN, "is required")
	}
	p.NotNegative(&o.MaxOpenConns)
	p.NotNegative(&o.MaxIdleConns)
	p.NotNegative(&o.ConnMaxLifetime)
	p.NotNegative(&o.ConnMaxIdleTime)
	p.Positive(&o.QueryTimeout)
}

// Store is an open database and the user repository on it.
type Store struct {
	db    *sqlx.DB
	d     dialect
	Users *UserRepo
	// Inbox holds the events WeChat pushed (the push receiver's).
	Inbox *Inbox
	// Consents is the ledger of users' consent to subscribe messages.
	Consents *Consents
	// Outbox holds the subscribe messages to send.
	Outbox *Outbox
}

// Open opens the database o names. It does not connect: the first query does,
// so a server can start while its database is still coming up.
func Open(o Options) (*Store, error) {
	d, ok := dialects[o.Driver]
	if !ok {
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want sqlite, mysql or postgres)", o.Driver)
	}
	dsn, err := d.prepareDSN(o.DSN.Reveal())
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
	} else {
		db.SetMaxIdleConns(maxOpen) // keep the pool warm: reconnecting costs more than idling
	}
	db.SetConnMaxLifetime(o.ConnMaxLifetime)
	db.SetConnMaxIdleTime(o.ConnMaxIdleTime)
	return &Store{db: db, d: d, Users: newUserRepo(db, d, o.QueryTimeout, o.Prepare && d.prepares), Inbox: newInbox(db, d, o.QueryTimeout),
		Consents: newConsents(db, d, o.QueryTimeout), Outbox: newOutbox(db, d, o.QueryTimeout)}, nil
}

// Migrate brings the schema to the newest version and returns it.
func (s *Store) Migrate(ctx context.Context) (int64, error) {
	if err := s.checkEncoding(ctx); err != nil {
		return 0, err
	}
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	// goose's Up first asks HasPending, which creates the version table
	// without the lock; on MySQL, whose CREATE TABLE commits at once, another
	// replica can then see the table before its zero row and fail. Reading
	// the version first creates the table under the lock, row and all.
	if _, err := p.GetDBVersion(ctx); err != nil {
		return 0, s.Users.fail("migrate", err)
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

// migrator returns goose's provider of the dialect's migrations, under a
// session lock where the database has one, so replicas that start together
// migrate one at a time: the first applies the migrations, the others then
// find nothing to do.
func (s *Store) migrator() (*goose.Provider, error) {
	var opts []goose.ProviderOption
	locker, err := s.d.migrationLocker()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migration lock: %w", err)
	}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.d.goose, s.db.DB, s.d.migrations(), opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.Users.closeStatements()
	return s.db.Close()
}

// checkEncoding refuses a PostgreSQL database that does not store UTF-8: it
// could not hold every nickname.
func (s *Store) checkEncoding(ctx context.Context) error {
	if s.d.name != postgresDialect.name {
		return nil
	}
	var enc string
	if err := s.db.QueryRowContext(ctx, "SHOW server_encoding").Scan(&enc); err != nil {
		return s.Users.fail("read server encoding", err)
	}
	if enc != "UTF8" {
		return fmt.Errorf("sqlstore: the PostgreSQL database encodes %s; wxbackend needs UTF8", enc)
	}
	return nil
}

// Stats returns the connection pool's statistics.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }
