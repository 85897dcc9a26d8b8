package sqlstore

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DSN is a data source name. It may hold a password, so it prints with the
// password hidden (Redacted); Reveal gives the text to the driver.
type DSN string

// Reveal returns the DSN's text.
func (d DSN) Reveal() string { return string(d) }

// String returns the DSN with its password hidden.
func (d DSN) String() string { return Redacted(string(d)) }

// GoString is String, so %#v hides the password too.
func (d DSN) GoString() string { return d.String() }

// Redacted hides a DSN's password, so the rest can still be checked; a DSN
// whose shape it does not know is hidden whole.
func Redacted(v string) string {
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		if u.User == nil && u.RawQuery == "" {
			return v
		}
	}
	// MySQL's user:password@tcp(host)/db
	if at := strings.LastIndex(v, "@"); at > 0 {
		if colon := strings.Index(v[:at], ":"); colon >= 0 && !strings.Contains(v[:at], "/") {
			return v[:colon+1] + "xxxxx" + v[at:]
		}
		return "[redacted]"
	}
	if strings.HasPrefix(v, "file:") || !strings.ContainsAny(v, "=@") {
		return v // a SQLite file name holds no secret
	}
	return "[redacted]"
}

// dialTimeout bounds connecting to a database server, so that one that is down
// is reported (code 9) in bounded time.
const dialTimeout = 5 * time.Second

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

// prepareMySQLDSN forces what the adapter relies on, whatever the DSN says:
// utf8mb4 with a matching collation (emoji), times parsed as UTC, affected rows
// counted as found rows (so an update that changes nothing still finds its
// row), and strict mode added to the server's SQL mode (errors, never silent
// truncation). A dial timeout is set unless the DSN has one.
func prepareMySQLDSN(dsn string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	if err := cfg.Apply(mysql.Charset("utf8mb4", "utf8mb4_unicode_ci")); err != nil {
		return "", err
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	// Arguments are interpolated by the driver (safe with utf8mb4), so a
	// statement is one round trip instead of prepare, execute and close.
	cfg.InterpolateParams = true
	if cfg.Timeout == 0 {
		cfg.Timeout = dialTimeout
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, set := cfg.Params["sql_mode"]; !set {
		cfg.Params["sql_mode"] = "CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')"
	}
	cfg.Params["time_zone"] = "'+00:00'"
	return cfg.FormatDSN(), nil
}

// preparePostgresDSN sets a connect timeout unless the DSN has one, in either
// of lib/pq's forms (URL or key=value), and UTF-8 as the client encoding.
func preparePostgresDSN(dsn string) (string, error) {
	if dsn == "" {
		return "", fmt.Errorf("empty")
	}
	timeout := fmt.Sprint(int(dialTimeout / time.Second))
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("not a URL")
		}
		q := u.Query()
		if q.Get("connect_timeout") == "" {
			q.Set("connect_timeout", timeout)
		}
		q.Set("client_encoding", "UTF8")
		// A statement with arguments in one round trip (lib/pq otherwise
		// prepares it first, in a round trip of its own).
		if q.Get("binary_parameters") == "" {
			q.Set("binary_parameters", "yes")
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if !strings.Contains(dsn, "connect_timeout=") {
		dsn += " connect_timeout=" + timeout
	}
	if !strings.Contains(dsn, "binary_parameters=") {
		dsn += " binary_parameters=yes"
	}
	return dsn + " client_encoding=UTF8", nil
}
