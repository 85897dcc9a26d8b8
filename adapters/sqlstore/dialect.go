package sqlstore

import (
	"embed"
	"io/fs"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// dialect is what differs between databases: the driver, the migrations, and
// the one statement that has no common SQL (insert unless present).
type dialect struct {
	name   string // the config's name for it
	driver string // database/sql driver name
	goose  goose.Dialect
	// createUser inserts a user: with returning, a statement that answers
	// the new row's id, and no row when (app_id, open_id) exists; without,
	// a plain INSERT whose duplicate-key error means the user exists (MySQL
	// has no RETURNING, and its affected-rows count cannot tell an insert
	// from a duplicate with CLIENT_FOUND_ROWS set).
	createUser string
	returning  bool
	lockRow    string // appended to a SELECT in a transaction to lock its row
	// prepares: the statements every request runs are prepared (stmt).
	prepares bool

	prepareDSN     func(string) (string, error) // adds the settings the adapter relies on
	defaultMaxOpen int
}

// dialects are the supported databases, by config name.
var dialects = map[string]dialect{
	sqliteDialect.name:   sqliteDialect,
	mysqlDialect.name:    mysqlDialect,
	postgresDialect.name: postgresDialect,
}

func (d dialect) migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

const insertColumns = `INSERT INTO wx_users (app_id, open_id, union_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`

// insertReturning is createUser where the database has INSERT … RETURNING
// (PostgreSQL, SQLite ≥ 3.35).
const insertReturning = insertColumns + ` ON CONFLICT (app_id, open_id) DO NOTHING RETURNING id`

var sqliteDialect = dialect{
	name:       "sqlite",
	driver:     "sqlite",
	goose:      goose.DialectSQLite3,
	createUser: insertReturning,
	returning:  true,
	prepareDSN: prepareSQLiteDSN,
	// One writer at a time is SQLite's rule. With one connection, requests
	// queue in the pool instead of sleeping in SQLite's busy handler (1 to
	// 100 ms backoffs): under load, 14-45% more profile saves per second
	// than with 4 connections and a far shorter tail; reads are fast enough
	// to wait their turn.
	defaultMaxOpen: 1,
}

// serverPoolSize is the default pool of a database server: enough for the
// requests one server runs at once, far below a server's connection limit,
// and all kept open while idle (database/sql would keep 2 and reconnect for
// the rest, a handshake per query under load).
const serverPoolSize = 32

// rebind turns the ? placeholders of q into the driver's.
func (d dialect) rebind(q string) string {
	return sqlx.Rebind(sqlx.BindType(d.driver), q)
}

var mysqlDialect = dialect{
	name:           "mysql",
	driver:         "mysql",
	goose:          goose.DialectMySQL,
	createUser:     insertColumns,
	lockRow:        ` FOR UPDATE`,
	prepareDSN:     prepareMySQLDSN,
	defaultMaxOpen: serverPoolSize,
}

var postgresDialect = dialect{
	name:           "postgres",
	driver:         "postgres",
	goose:          goose.DialectPostgres,
	createUser:     insertReturning,
	returning:      true,
	lockRow:        ` FOR UPDATE`,
	prepares:       true,
	prepareDSN:     preparePostgresDSN,
	defaultMaxOpen: serverPoolSize,
}
