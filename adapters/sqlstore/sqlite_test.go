package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

// openSQLite returns a migrated store in a file of the test's own.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(sqlstore.Options{Driver: "sqlite", DSN: "file:" + filepath.Join(t.TempDir(), "users.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSQLite_UserRepoContract(t *testing.T) {
	st := openSQLite(t)
	porttest.TestUserRepo(t, func(*testing.T) ports.UserRepo { return st.Users })
}
