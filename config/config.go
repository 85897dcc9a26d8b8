// Package config is wxbackend's one typed configuration: built-in defaults,
// then environment variables (WXB_…), then command-line flags, validated once.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable of the configuration.
const EnvPrefix = "WXB_"

// Config is the whole configuration.
type Config struct {
	HTTP    HTTP
	WeChat  WeChat
	Session Session
	DB      DB
	Auth    Auth
	Redis   Redis
	Log     Log
	Sandbox Sandbox
}

// Sandbox runs a local stand-in for WeChat in the server's process, for
// development: the server logs in against it instead of WeChat's API.
type Sandbox struct {
	Enabled bool
	Addr    string // loopback only
}

// HTTP configures the server.
type HTTP struct {
	Addr              string
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	DebugAddr         string // net/http/pprof listener; empty: none
	TrustedProxies    string // comma-separated addresses or CIDRs whose X-Forwarded-For is believed
}

// WeChat configures the WeChat API client.
type WeChat struct {
	AppID     string
	AppSecret Secret
	BaseURL   string
	Timeout   time.Duration
}

// Session configures the session store.
type Session struct {
	Store           string // "memory" or "redis"
	TTL             time.Duration
	Sliding         bool // every request extends the session by TTL
	CleanupInterval time.Duration
}

// Redis configures the Redis session store.
type Redis struct {
	Addrs      string // comma-separated: one node, a Cluster's seeds, or Sentinels
	MasterName string // set for Sentinel
	Username   string
	Password   Secret
	DB         int
	TLS        bool
	PoolSize   int
	Timeout    time.Duration
	KeyPrefix  string
}

// AddrList returns the addresses, split and trimmed.
func (r Redis) AddrList() []string {
	var out []string
	for _, a := range strings.Split(r.Addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// DB configures the user database.
type DB struct {
	Driver          string // "sqlite", "mysql" or "postgres"
	DSN             Secret // may hold a password
	Migrate         bool   // run migrations at start
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	QueryTimeout    time.Duration // bounds each database call
}

// Auth tunes the login and user-info rules.
type Auth struct {
	WatermarkMaxAge      time.Duration // 0: any age
	LoginReplayWindow    time.Duration
	LoginRatePerMinute   int // per client address; 0: no limit
	SessionRatePerMinute int // per session, on the data routes; 0: no limit
}

// TrustedProxyList returns the trusted proxies as prefixes (a lone address is
// a /32 or /128).
func (h HTTP) TrustedProxyList() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(h.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Log configures logging.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

// Secret is a setting whose value must not be printed.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Reveal returns the secret's value, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// setting is one configuration value: its flag name (the environment variable
// is EnvPrefix plus the name in upper case with '_' for '-'), and its text.
type setting struct {
	name   string
	usage  string
	value  flag.Value
	secret bool
}

// EnvName returns the environment variable of a flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (c *Config) settings() []setting {
	return []setting{
		{"http-addr", "address the HTTP server listens on", (*stringValue)(&c.HTTP.Addr), false},
		{"http-max-body", "largest request body, bytes", (*int64Value)(&c.HTTP.MaxBodyBytes), false},
		{"http-read-header-timeout", "time to read request headers", (*durationValue)(&c.HTTP.ReadHeaderTimeout), false},
		{"http-read-timeout", "time to read a whole request", (*durationValue)(&c.HTTP.ReadTimeout), false},
		{"http-write-timeout", "time to write a response", (*durationValue)(&c.HTTP.WriteTimeout), false},
		{"http-idle-timeout", "keep-alive idle time", (*durationValue)(&c.HTTP.IdleTimeout), false},
		{"http-shutdown-timeout", "time in-flight requests get to finish at shutdown", (*durationValue)(&c.HTTP.ShutdownTimeout), false},
		{"http-trusted-proxies", "proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client", (*stringValue)(&c.HTTP.TrustedProxies), false},
		{"http-debug-addr", "address of a net/http/pprof listener for profiling (empty: none; keep it private)", (*stringValue)(&c.HTTP.DebugAddr), false},
		{"wechat-app-id", "the mini-program's appid", (*stringValue)(&c.WeChat.AppID), false},
		{"wechat-app-secret", "the mini-program's app secret", (*secretValue)(&c.WeChat.AppSecret), true},
		{"wechat-base-url", "WeChat API base URL", (*stringValue)(&c.WeChat.BaseURL), false},
		{"wechat-timeout", "timeout of a call to WeChat", (*durationValue)(&c.WeChat.Timeout), false},
		{"session-store", "session store: memory or redis", (*stringValue)(&c.Session.Store), false},
		{"session-ttl", "lifetime of a login token", (*durationValue)(&c.Session.TTL), false},
		{"session-sliding", "every request extends the session by the TTL", (*boolValue)(&c.Session.Sliding), false},
		{"session-cleanup-interval", "how often the memory store drops expired sessions", (*durationValue)(&c.Session.CleanupInterval), false},
		{"redis-addrs", "Redis address(es), comma-separated: one node, Cluster seeds, or Sentinels", (*stringValue)(&c.Redis.Addrs), false},
		{"redis-master-name", "Sentinel master name (Sentinel mode)", (*stringValue)(&c.Redis.MasterName), false},
		{"redis-username", "Redis ACL user", (*stringValue)(&c.Redis.Username), false},
		{"redis-password", "Redis password", (*secretValue)(&c.Redis.Password), true},
		{"redis-db", "Redis database number (not in Cluster)", (*intValue)(&c.Redis.DB), false},
		{"redis-tls", "connect to Redis over TLS", (*boolValue)(&c.Redis.TLS), false},
		{"redis-pool-size", "connections per Redis node (0: 10 per CPU)", (*intValue)(&c.Redis.PoolSize), false},
		{"redis-timeout", "longest a Redis call may take before code 9", (*durationValue)(&c.Redis.Timeout), false},
		{"redis-key-prefix", "prefix of every key, so apps can share a Redis", (*stringValue)(&c.Redis.KeyPrefix), false},
		{"db-driver", "user database: sqlite, mysql or postgres", (*stringValue)(&c.DB.Driver), false},
		{"db-dsn", "data source name of the user database", (*secretValue)(&c.DB.DSN), true},
		{"db-migrate", "run schema migrations at start", (*boolValue)(&c.DB.Migrate), false},
		{"db-max-open-conns", "most open connections (0: 1 for SQLite, 32 for MySQL and PostgreSQL)", (*intValue)(&c.DB.MaxOpenConns), false},
		{"db-max-idle-conns", "most idle connections (0: as many as open)", (*intValue)(&c.DB.MaxIdleConns), false},
		{"db-conn-max-lifetime", "longest life of a connection (0: forever)", (*durationValue)(&c.DB.ConnMaxLifetime), false},
		{"db-conn-max-idle-time", "longest idle time of a connection (0: forever)", (*durationValue)(&c.DB.ConnMaxIdleTime), false},
		{"db-query-timeout", "longest a database call may take before code 9", (*durationValue)(&c.DB.QueryTimeout), false},
		{"watermark-max-age", "oldest accepted watermark of encrypted data (0: any)", (*durationValue)(&c.Auth.WatermarkMaxAge), false},
		{"login-replay-window", "how long a login code's result is replayed to retries", (*durationValue)(&c.Auth.LoginReplayWindow), false},
		{"rate-login-per-minute", "logins per minute per client address (0: no limit)", (*intValue)(&c.Auth.LoginRatePerMinute), false},
		{"rate-session-per-minute", "requests per minute per session on the data routes (0: no limit)", (*intValue)(&c.Auth.SessionRatePerMinute), false},
		{"log-level", "debug, info, warn or error", (*stringValue)(&c.Log.Level), false},
		{"log-format", "text or json", (*stringValue)(&c.Log.Format), false},
		{"sandbox", "log in against a local WeChat sandbox instead of WeChat (development; loopback only)", (*boolValue)(&c.Sandbox.Enabled), false},
		{"sandbox-addr", "address of the WeChat sandbox (loopback)", (*stringValue)(&c.Sandbox.Addr), false},
	}
}

// Default returns the built-in defaults: a server on loopback, SQLite and
// in-memory sessions, no app credentials.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Addr:              "127.0.0.1:8080",
			MaxBodyBytes:      64 << 10,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      15 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
		},
		WeChat:  WeChat{BaseURL: "https://api.weixin.qq.com", Timeout: 5 * time.Second},
		Session: Session{Store: "memory", TTL: 24 * time.Hour, CleanupInterval: time.Minute},
		Redis:   Redis{Addrs: "127.0.0.1:6379", Timeout: time.Second, KeyPrefix: "wxb:"},
		DB:      DB{Driver: "sqlite", DSN: "file:wxbackend.db", Migrate: true, QueryTimeout: 5 * time.Second},
		Auth:    Auth{LoginReplayWindow: 10 * time.Second, LoginRatePerMinute: 60, SessionRatePerMinute: 120},
		Log:     Log{Level: "info", Format: "text"},
		Sandbox: Sandbox{Addr: "127.0.0.1:8090"},
	}
}

// Load returns the configuration from defaults, then env (a lookup such as
// os.LookupEnv), then args (flags). It fails naming every setting that is wrong.
func Load(args []string, env func(string) (string, bool), usage io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("wxbackend", flag.ContinueOnError)
	fs.SetOutput(usage)
	var errs []error
	for _, s := range c.settings() {
		fs.Var(s.value, s.name, s.usage+" (env "+EnvName(s.name)+")")
		if v, ok := env(EnvName(s.name)); ok {
			if err := s.value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(s.name), err))
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	if len(errs) == 0 {
		errs = c.validate()
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// validate returns one error per wrong setting, each naming it.
func (c *Config) validate() []error {
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s (--%s): %s", EnvName(name), name, fmt.Sprintf(format, a...)))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http-addr", "%q is not host:port", c.HTTP.Addr)
	}
	if c.HTTP.DebugAddr != "" && !isLoopback(c.HTTP.DebugAddr) {
		bad("http-debug-addr", "%q is not a loopback address: profiles show memory, secrets included", c.HTTP.DebugAddr)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http-max-body", "must be at least 1024 bytes")
	}
	for name, d := range map[string]time.Duration{
		"http-read-header-timeout": c.HTTP.ReadHeaderTimeout, "http-read-timeout": c.HTTP.ReadTimeout,
		"http-write-timeout": c.HTTP.WriteTimeout, "http-idle-timeout": c.HTTP.IdleTimeout,
		"http-shutdown-timeout": c.HTTP.ShutdownTimeout, "wechat-timeout": c.WeChat.Timeout,
		"session-ttl": c.Session.TTL, "session-cleanup-interval": c.Session.CleanupInterval,
		"db-query-timeout": c.DB.QueryTimeout, "redis-timeout": c.Redis.Timeout,
	} {
		if d <= 0 {
			bad(name, "must be positive")
		}
	}
	for name, d := range map[string]time.Duration{
		"db-conn-max-lifetime": c.DB.ConnMaxLifetime, "db-conn-max-idle-time": c.DB.ConnMaxIdleTime,
		"watermark-max-age": c.Auth.WatermarkMaxAge, "login-replay-window": c.Auth.LoginReplayWindow,
	} {
		if d < 0 {
			bad(name, "must not be negative")
		}
	}
	if _, err := c.HTTP.TrustedProxyList(); err != nil {
		bad("http-trusted-proxies", "%q: %v", c.HTTP.TrustedProxies, err)
	}
	if c.Auth.LoginRatePerMinute < 0 || c.Auth.SessionRatePerMinute < 0 {
		bad("rate-login-per-minute", "rates must not be negative")
	}
	if c.DB.MaxOpenConns < 0 || c.DB.MaxIdleConns < 0 {
		bad("db-max-open-conns", "pool sizes must not be negative")
	}
	if c.Sandbox.Enabled {
		// A sandbox logs anyone in as anyone: neither it nor a server
		// trusting it may be reachable from a network.
		if !isLoopback(c.HTTP.Addr) {
			bad("http-addr", "%q is not a loopback address, which the sandbox requires", c.HTTP.Addr)
		}
		if !isLoopback(c.Sandbox.Addr) {
			bad("sandbox-addr", "%q is not a loopback address (127.0.0.1, ::1 or localhost)", c.Sandbox.Addr)
		}
		if c.WeChat.BaseURL != Default().WeChat.BaseURL {
			bad("wechat-base-url", "the sandbox stands in for WeChat; leave it unset or turn the sandbox off")
		}
	} else {
		if c.WeChat.AppID == "" {
			bad("wechat-app-id", "is required (or run with the sandbox: WXB_SANDBOX=true)")
		}
		if c.WeChat.AppSecret == "" {
			bad("wechat-app-secret", "is required (or run with the sandbox: WXB_SANDBOX=true)")
		}
	}
	if u, err := url.Parse(c.WeChat.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("wechat-base-url", "%q is not an http(s) URL", c.WeChat.BaseURL)
	}
	if !oneOf(c.Session.Store, "memory", "redis") {
		bad("session-store", "%q is not memory or redis", c.Session.Store)
	}
	if c.Session.Store == "redis" {
		if len(c.Redis.AddrList()) == 0 {
			bad("redis-addrs", "is required with the redis session store")
		}
		if c.Redis.DB < 0 || c.Redis.PoolSize < 0 {
			bad("redis-db", "database number and pool size must not be negative")
		}
		if c.Redis.DB != 0 && len(c.Redis.AddrList()) > 1 && c.Redis.MasterName == "" {
			bad("redis-db", "a Redis Cluster has only database 0")
		}
	}
	if !oneOf(c.DB.Driver, "sqlite", "mysql", "postgres") {
		bad("db-driver", "%q is not sqlite, mysql or postgres", c.DB.Driver)
	}
	if c.DB.DSN == "" {
		bad("db-dsn", "is required")
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		bad("log-level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		bad("log-format", "%q is not text or json", c.Log.Format)
	}
	return errs
}

// isLoopback tells whether addr (host:port) names a loopback host.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

// String lists every setting by its environment variable, secrets redacted
// (a DSN keeps its shape with the password hidden), one per line, sorted.
func (c Config) String() string {
	var lines []string
	for _, s := range c.settings() {
		v := s.value.String() // a Secret prints as [redacted]
		if s.name == "db-dsn" {
			v = RedactDSN(c.DB.DSN.Reveal())
		}
		lines = append(lines, EnvName(s.name)+"="+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// RedactDSN hides a DSN's password, so the rest can still be checked; a DSN
// whose shape it does not know is hidden whole.
func RedactDSN(v string) string {
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
