package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"

	"wxbackend/adapters/sqlstore"
)

// Every DSN form the drivers read prints with its passwords hidden and the
// rest kept; the secret in each case is "S3cr" followed by something.
func TestRedacted_HidesPasswordsInEveryDSNForm(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		// PostgreSQL URLs: the user's password, and password parameters of any case.
		{"postgres://app:S3cr-1@db:5432/wx?sslmode=disable", "postgres://app:xxxxx@db:5432/wx?sslmode=disable"},
		{"postgres://app@db:5432/wx?sslmode=disable&password=S3cr-2", "postgres://app@db:5432/wx?sslmode=disable&password=xxxxx"},
		{"postgresql://app@db/wx?PASSWORD=S3cr-3&sslmode=require", "postgresql://app@db/wx?PASSWORD=xxxxx&sslmode=require"},
		{"postgres://db/wx?user=app&Password=S3cr-4", "postgres://db/wx?user=app&Password=xxxxx"},
		{"postgres://db/wx?sslpassword=S3cr-5&sslmode=verify-full", "postgres://db/wx?sslpassword=xxxxx&sslmode=verify-full"},
		{"postgres://app:S3cr-6@db/wx?password=S3cr-7", "postgres://app:xxxxx@db/wx?password=xxxxx"},
		{"postgres://app:S3cr%40x@db/wx", "postgres://app:xxxxx@db/wx"},
		{"postgres://db/wx?pass%77ord=S3cr-8", "postgres://db/wx?pass%77ord=xxxxx"},
		{"postgres://app@db:5432/wx", "postgres://app@db:5432/wx"},
		// MySQL: user:password@net(addr)/db, a password with '@', ':' or '/'.
		{"app:S3cr-9@tcp(db:3306)/wx?parseTime=true", "app:xxxxx@tcp(db:3306)/wx?parseTime=true"},
		{"app:S3cr@:/x@tcp(db:3306)/wx", "app:xxxxx@tcp(db:3306)/wx"},
		{"app@tcp(db:3306)/wx", "app@tcp(db:3306)/wx"},
		{"app:S3cr-10@unix(/run/mysqld.sock)/wx", "app:xxxxx@unix(/run/mysqld.sock)/wx"},
		// lib/pq's key=value, plain and quoted, any case and spacing.
		{"host=db user=app password=S3cr-11 dbname=wx", "host=db user=app password=xxxxx dbname=wx"},
		{"host=db password='S3cr 12 \\' x' dbname=wx", "host=db password=xxxxx dbname=wx"},
		{"password = S3cr-13 host=db", "password = xxxxx host=db"},
		{"host=db PASSWORD=S3cr-14", "host=db PASSWORD=xxxxx"},
		{"host=db sslpassword=S3cr-15 sslmode=verify-full", "host=db sslpassword=xxxxx sslmode=verify-full"},
		{"host=db password='S3cr-16", "[redacted]"},
		// SQLite files: no secret, or an auth password or a SQLCipher key.
		{"file:wxbackend.db", "file:wxbackend.db"},
		{"wxbackend.db", "wxbackend.db"},
		{"file:test.db?_auth&_auth_user=admin&_auth_pass=S3cr-17&_auth_crypt=sha1", "file:test.db?_auth=xxxxx&_auth_user=xxxxx&_auth_pass=xxxxx&_auth_crypt=xxxxx"},
		{"file:test.db?_pragma=key('S3cr-18')&_pragma=busy_timeout(5000)", "file:test.db?_pragma=xxxxx&_pragma=busy_timeout(5000)"},
		{"file:test.db?_pragma=key%28%27S3cr-19%27%29", "file:test.db?_pragma=xxxxx"},
		{"test.db?_auth_pass=S3cr-20", "test.db?_auth_pass=xxxxx"},
		{"file:test.db?_pwd=S3cr-21", "file:test.db?_pwd=xxxxx"},
		// Shapes it does not know are hidden whole.
		{"(S3cr)=22", "[redacted]"},
		{"@S3cr-23", "[redacted]"},
		{"name ", "name "},
	} {
		got := sqlstore.Redacted(c.dsn)
		if strings.Contains(got, "S3cr") || got != c.want {
			t.Errorf("Redacted(%q) = %q, want %q", c.dsn, got, c.want)
		}
		if d := sqlstore.DSN(c.dsn); d.String() != got || fmt.Sprintf("%#v %v", d, d) != got+" "+got {
			t.Errorf("DSN %q prints as %q / %#v", c.dsn, d.String(), d)
		}
	}
}
