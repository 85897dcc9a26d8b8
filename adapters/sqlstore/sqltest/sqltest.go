// Package sqltest gives tests throwaway databases on real servers: MariaDB or
// MySQL, and PostgreSQL. A server that cannot be reached fails the test under
// CI (CI set in the environment) and skips it, loudly, elsewhere.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq" // registered as "postgres"

	"wxbackend/adapters/testenv"
)

// Server DSNs, overridable by environment: a MySQL DSN without a database, and
// a PostgreSQL URL of a database to connect to for CREATE DATABASE.
const (
	MySQLEnv        = "WXB_TEST_MYSQL_DSN"
	PostgresEnv     = "WXB_TEST_POSTGRES_DSN"
	defaultMySQL    = "root@tcp(127.0.0.1:3306)/"
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

func dbName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "wxb_test_" + hex.EncodeToString(b[:])
}

func admin(t testing.TB, driver, dsn, what string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
	}
	if err != nil {
		testenv.Unreachable(t, what, err)
	}
	return db
}

// MySQL creates an empty utf8mb4 database on the MySQL/MariaDB server, dropped
// at the test's end, and returns a DSN for it.
func MySQL(t testing.TB) string {
	t.Helper()
	base := testenv.Get(MySQLEnv, defaultMySQL)
	db := admin(t, "mysql", base, "MariaDB/MySQL")
	name := dbName()
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
		db.Close()
	})
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}

// MySQLServerAddr returns the host:port of the test MySQL server.
func MySQLServerAddr(t testing.TB) string {
	cfg, err := mysql.ParseDSN(testenv.Get(MySQLEnv, defaultMySQL))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Addr
}

// Postgres creates an empty UTF-8 database on the PostgreSQL server, dropped at
// the test's end, and returns a URL for it.
func Postgres(t testing.TB) string {
	t.Helper()
	base := testenv.Get(PostgresEnv, defaultPostgres)
	db := admin(t, "postgres", base, "PostgreSQL")
	name := dbName()
	if _, err := db.Exec("CREATE DATABASE " + name + " ENCODING 'UTF8' TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// WithAddr returns dsn pointing at addr instead of its server (for a proxy).
func WithAddr(t testing.TB, driver, dsn, addr string) string {
	t.Helper()
	switch driver {
	case "mysql":
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Addr = addr
		return cfg.FormatDSN()
	case "postgres":
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = addr
		return u.String()
	}
	t.Fatalf("no server address in a %s DSN", driver)
	return ""
}

// PostgresServerAddr returns the host:port of the test PostgreSQL server.
func PostgresServerAddr(t testing.TB) string {
	u, err := url.Parse(testenv.Get(PostgresEnv, defaultPostgres))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.Host, ":") {
		return u.Host + ":5432"
	}
	return u.Host
}
