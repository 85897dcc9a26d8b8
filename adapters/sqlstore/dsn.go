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

// Redacted hides a DSN's passwords, so the rest can still be checked, in
// every form the drivers read: a URL's user password and its password-like
// query parameters (postgres://u:p@h/db?password=…, any case), MySQL's
// user:password@tcp(host)/db, lib/pq's key=value list (quoted values too),
// and a SQLite file's parameters (_auth_pass and the like, a SQLCipher key).
// A DSN whose shape it does not know is hidden whole.
func Redacted(v string) string {
	switch {
	case v == "":
		return ""
	case strings.Contains(v, "://"):
		u, err := url.Parse(v)
		if err != nil {
			return redactedWhole
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redactedMark)
		}
		u.RawQuery = redactQuery(u.RawQuery)
		return u.String()
	case strings.HasPrefix(v, "file:"):
		return redactPathQuery(v)
	case keyValueDSN(v):
		return redactKeyValues(v)
	case strings.Contains(v, "@") || strings.Contains(v, "("):
		return redactMySQL(v)
	case strings.Contains(v, "?"):
		return redactPathQuery(v)
	case strings.Contains(v, "="):
		return redactedWhole
	}
	return v // a SQLite file name holds no secret
}

const (
	redactedMark  = "xxxxx"
	redactedWhole = "[redacted]"
)

// secretParam reports whether a DSN parameter's name says it holds a secret:
// password, PASSWORD, sslpassword, _auth_pass, pwd, a key…
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "pwd", "secret", "key", "token", "auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactQuery hides the values of a query's secret parameters, and of
// SQLite pragmas that set a key (_pragma=key('…')), keeping the others and
// their order.
func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		name, value, _ := strings.Cut(p, "=")
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if uv, err := url.QueryUnescape(value); err == nil {
			value = uv
		}
		if secretParam(name) || secretParam(value) {
			parts[i] = strings.SplitN(p, "=", 2)[0] + "=" + redactedMark
		}
	}
	return strings.Join(parts, "&")
}

// redactPathQuery hides the secret parameters of path?query.
func redactPathQuery(v string) string {
	path, q, ok := strings.Cut(v, "?")
	if !ok {
		return v
	}
	return path + "?" + redactQuery(q)
}

// redactMySQL hides the password of [user[:password]@][net[(addr)]]/db[?params],
// split as the driver splits it: the last '/' ends the address, the last '@'
// before it ends the user's part, the first ':' in that ends the user.
func redactMySQL(v string) string {
	slash := strings.LastIndex(v, "/")
	if slash < 0 {
		return redactedWhole
	}
	head, tail := v[:slash], v[slash:]
	if at := strings.LastIndex(head, "@"); at >= 0 {
		if colon := strings.Index(head[:at], ":"); colon >= 0 {
			head = head[:colon+1] + redactedMark + head[at:]
		}
	}
	return head + redactPathQuery(tail)
}

// keyValueDSN reports whether v is lib/pq's key=value form: it starts with
// a parameter name and '='.
func keyValueDSN(v string) bool {
	v = strings.TrimLeft(v, " \t")
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '=' || c == ' ':
			return i > 0 && strings.HasPrefix(strings.TrimLeft(v[i:], " "), "=")
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return false
}

// redactKeyValues hides the secret values of lib/pq's key=value list, whose
// values may be single-quoted with backslash escapes.
func redactKeyValues(v string) string {
	var b strings.Builder
	i := 0
	for i < len(v) {
		if v[i] == ' ' || v[i] == '\t' || v[i] == '\n' {
			b.WriteByte(v[i])
			i++
			continue
		}
		eq := strings.IndexByte(v[i:], '=')
		if eq < 0 {
			return redactedWhole // not key=value after all
		}
		name := strings.TrimSpace(v[i : i+eq])
		j := i + eq + 1
		for j < len(v) && v[j] == ' ' {
			j++
		}
		end := j
		if end < len(v) && v[end] == '\'' {
			end++
			for end < len(v) && v[end] != '\'' {
				if v[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(v) {
				return redactedWhole // an unterminated quote
			}
			end++
		} else {
			for end < len(v) && v[end] != ' ' && v[end] != '\t' && v[end] != '\n' {
				if v[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end, len(v))
		}
		b.WriteString(v[i:j])
		if secretParam(name) {
			b.WriteString(redactedMark)
		} else {
			b.WriteString(v[j:end])
		}
		i = end
	}
	return b.String()
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
