package sqlstore_test

import (
	"path/filepath"
	"testing"

	"wxbackend/adapters/sqlstore"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

// openSQLite returns a migrated store in a file of the test's own.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	return openStore(t, "sqlite", "file:"+filepath.Join(t.TempDir(), "users.db"))
}

func TestSQLite_UserRepoContract(t *testing.T) {
	st := openSQLite(t)
	porttest.TestUserRepo(t, func(*testing.T) ports.UserRepo { return st.Users })
}

// Two processes on one database file create the same users at once.
func TestSQLite_UserRepoOnTwoServers(t *testing.T) {
	dsn := "file:" + filepath.Join(t.TempDir(), "users.db")
	porttest.TestUserRepoServers(t, openStore(t, "sqlite", dsn).Users, openStore(t, "sqlite", dsn).Users)
}
