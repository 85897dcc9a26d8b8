package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

// openStore opens and migrates a store on a throwaway database, with the
// server's defaults (statements prepared where the database prepares).
func openStore(t *testing.T, driver, dsn string) *sqlstore.Store {
	t.Helper()
	return openStoreWith(t, sqlstore.Options{Driver: driver, DSN: sqlstore.DSN(dsn), QueryTimeout: 30 * time.Second, // generous: the contract races 20 writers on one row, under -race, on a shared machine
		Prepare: true})
}

// openStoreWith opens and migrates the store o describes.
func openStoreWith(t *testing.T, o sqlstore.Options) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(o)
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

func TestMariaDB_UserRepoContract(t *testing.T) {
	st := openStore(t, "mysql", sqltest.MySQL(t))
	porttest.TestUserRepo(t, func(*testing.T) ports.UserRepo { return st.Users })
}

func TestPostgres_UserRepoContract(t *testing.T) {
	st := openStore(t, "postgres", sqltest.Postgres(t))
	porttest.TestUserRepo(t, func(*testing.T) ports.UserRepo { return st.Users })
}

// Behind a PgBouncer in transaction mode, statements are not prepared: the
// contract holds that way too.
func TestPostgres_UserRepoContractUnprepared(t *testing.T) {
	st := openStoreWith(t, sqlstore.Options{Driver: "postgres", DSN: sqlstore.DSN(sqltest.Postgres(t)), QueryTimeout: 30 * time.Second})
	porttest.TestUserRepo(t, func(*testing.T) ports.UserRepo { return st.Users })
	if n := preparedOnConnection(t, st); n != 0 {
		t.Errorf("%d statements prepared with Prepare off", n)
	}
}

// On PostgreSQL, a login's INSERT, the user's SELECT and a profile's UPDATE
// are prepared once per connection and then only executed.
func TestPostgres_RequestStatementsArePreparedOncePerConnection(t *testing.T) {
	st := openStoreWith(t, sqlstore.Options{Driver: "postgres", DSN: sqlstore.DSN(sqltest.Postgres(t)), QueryTimeout: 30 * time.Second,
		Prepare: true, MaxOpenConns: 1})
	ctx := context.Background()
	for i := range 3 {
		id := domain.Identity{AppID: "wx00000000000000aa", OpenID: fmt.Sprint("oPrepared", i)}
		if _, err := st.Users.EnsureUser(ctx, id, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Users.UpdateUser(ctx, id, func(u *domain.User) (bool, error) {
			u.Profile.NickName = fmt.Sprint("nick ", i)
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// INSERT … RETURNING, SELECT (UpdateUser reads first), the profile's
	// UPDATE or the whole row's: each once, whatever the number of calls.
	if n := preparedOnConnection(t, st); n < 3 || n > 4 {
		t.Errorf("%d statements prepared on the one connection, want 3 or 4", n)
	}
}

// preparedOnConnection counts the named prepared statements of the store's
// connection (the pool's one idle connection, as the tests use it).
func preparedOnConnection(t *testing.T, st *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, `SELECT count(*) FROM pg_prepared_statements WHERE name <> ''`); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two servers, each with its own pool, create the same users at once.
func TestMariaDB_UserRepoOnTwoServers(t *testing.T) {
	dsn := sqltest.MySQL(t)
	porttest.TestUserRepoServers(t, openStore(t, "mysql", dsn).Users, openStore(t, "mysql", dsn).Users)
}

func TestPostgres_UserRepoOnTwoServers(t *testing.T) {
	dsn := sqltest.Postgres(t)
	porttest.TestUserRepoServers(t, openStore(t, "postgres", dsn).Users, openStore(t, "postgres", dsn).Users)
}

func TestMariaDB_ForcesUTF8MB4WhateverTheDSNSays(t *testing.T) {
	dsn := sqltest.MySQL(t) + "?charset=latin1&parseTime=false"
	st := openStore(t, "mysql", dsn)
	key := domain.Identity{AppID: "wx00000000000000aa", OpenID: "oCharset"}
	ctx := context.Background()
	if _, err := st.Users.EnsureUser(ctx, key, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	nick := "Band 🎸👩‍👩‍👧"
	if _, err := st.Users.UpdateUser(ctx, key, func(u *domain.User) (bool, error) {
		u.Profile.NickName, u.UpdatedAt = nick, time.Now()
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Users.Get(ctx, key)
	if err != nil || got.Profile.NickName != nick {
		t.Fatalf("stored %q (%v), want %q", got.Profile.NickName, err, nick)
	}
}

// TestDatabaseDown_IsUnavailableAndRecovers cuts the connection to each
// server and restores it: calls fail as unavailable in bounded time, then
// work again without a restart.
func TestDatabaseDown_IsUnavailableAndRecovers(t *testing.T) {
	for _, c := range []struct {
		driver string
		dsn    func(testing.TB) string
		addr   func(testing.TB) string
	}{
		{"mysql", sqltest.MySQL, sqltest.MySQLServerAddr},
		{"postgres", sqltest.Postgres, sqltest.PostgresServerAddr},
	} {
		t.Run(c.driver, func(t *testing.T) {
			dsn := c.dsn(t)
			openStore(t, c.driver, dsn) // migrate directly
			proxy := tcpproxy.Start(t, c.addr(t))
			st, err := sqlstore.Open(sqlstore.Options{Driver: c.driver, DSN: sqlstore.DSN(sqltest.WithAddr(t, c.driver, dsn, proxy.Addr())), QueryTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			ctx := context.Background()
			key := domain.Identity{AppID: "wx00000000000000bb", OpenID: "oDown"}
			if _, err := st.Users.EnsureUser(ctx, key, "", time.Now()); err != nil {
				t.Fatal(err)
			}

			proxy.Down()
			start := time.Now()
			_, err = st.Users.Get(ctx, key)
			if domain.KindOf(err) != domain.KindUnavailable {
				t.Fatalf("with the database gone: %v, want unavailable", err)
			}
			if err := st.Users.Ping(ctx); domain.KindOf(err) != domain.KindUnavailable {
				t.Fatalf("ping with the database gone: %v", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v to report the database gone", d)
			}

			if err := proxy.Up(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, err := st.Users.Get(ctx, key)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no recovery after the database returned: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestMigrate_IsVersionedAndIdempotent(t *testing.T) {
	for driver, dsn := range map[string]string{"mysql": sqltest.MySQL(t), "postgres": sqltest.Postgres(t)} {
		st := openStore(t, driver, dsn)
		ctx := context.Background()
		v, err := st.Migrate(ctx) // a second time: nothing to do
		if err != nil || v != latestVersion(t, driver) {
			t.Fatalf("%s: version %d, %v", driver, v, err)
		}
		if got, err := st.SchemaVersion(ctx); err != nil || got != latestVersion(t, driver) {
			t.Fatalf("%s: schema version %d, %v", driver, got, err)
		}
	}
}

// TestServerPool_KeepsItsConnections checks the default pool of the server
// databases: 32 open at most, and connections kept while idle rather than
// closed and reopened for the next query.
func TestServerPool_KeepsItsConnections(t *testing.T) {
	for _, tc := range []struct{ driver, dsn, sleep string }{
		{"mysql", sqltest.MySQL(t), "SELECT SLEEP(0.1)"},
		{"postgres", sqltest.Postgres(t), "SELECT pg_sleep(0.1)"},
	} {
		st := openStore(t, tc.driver, tc.dsn)
		if n := st.Stats().MaxOpenConnections; n != 32 {
			t.Errorf("%s: at most %d connections, want 32", tc.driver, n)
		}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.DB().ExecContext(context.Background(), tc.sleep); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if s := st.Stats(); s.Idle < 8 {
			t.Errorf("%s: %d idle connections after 8 concurrent queries (%d closed as surplus)", tc.driver, s.Idle, s.MaxIdleClosed)
		}
	}
}

// Replicas that start together on an empty database all succeed: exactly
// one migrates, under a lock (PostgreSQL's advisory lock, MySQL's GET_LOCK),
// and the others find the schema up to date.
func TestMigrate_ReplicasStartingTogether(t *testing.T) {
	for driver, newDSN := range map[string]func(testing.TB) string{"mysql": sqltest.MySQL, "postgres": sqltest.Postgres} {
		t.Run(driver, func(t *testing.T) {
			for round := 0; round < 2; round++ {
				dsn := newDSN(t) // a fresh, empty database each round
				const replicas = 6
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make(chan error, replicas)
				versions := make(chan int64, replicas)
				for i := 0; i < replicas; i++ {
					st, err := sqlstore.Open(sqlstore.Options{Driver: driver, DSN: sqlstore.DSN(dsn), QueryTimeout: 30 * time.Second})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						v, err := st.Migrate(ctx)
						errs <- err
						versions <- v
					}()
				}
				close(start)
				wg.Wait()
				close(errs)
				close(versions)
				for err := range errs {
					if err != nil {
						t.Fatalf("round %d: a replica failed to migrate: %v", round, err)
					}
				}
				for v := range versions {
					if v != latestVersion(t, driver) {
						t.Fatalf("round %d: a replica saw version %d", round, v)
					}
				}
			}
		})
	}
}

// latestVersion is the newest migration of driver's: the number of its
// migration files (numbered from 1, one per version).
func latestVersion(t *testing.T, driver string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", driver, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations of %s: %v", driver, err)
	}
	// The highest number, not the count: branches number their migrations
	// apart (00007 may land before 00006).
	var latest int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		latest = max(latest, n)
	}
	return latest
}
