// Package config is wxbackend's one configuration, the aggregate beside the
// composition root (the settings reader it uses is config/setting, a leaf
// library every layer may use). Each adapter declares its own settings, once, as tagged fields of its options (see config/setting);
// Config composes them with the few settings that belong to the composition
// itself (which session store, logging), and Load reads and
// checks them all at once: built-in defaults, then environment variables
// (WXB_…), then command-line flags.
package config

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/imaging"
	"wxbackend/adapters/localfs"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/s3blob"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/usercache"
	"wxbackend/adapters/wechat"
	"wxbackend/app"
	"wxbackend/config/setting"
)

// Config is the whole configuration. Its fields' order is the order of the
// settings in -help and in the README.
type Config struct {
	Server    httpapi.ServerOptions
	HTTP      httpapi.Options
	Gateway   httpapi.GatewayOptions
	WeChat    wechat.Options
	Apps      Apps
	Push      Push
	App       app.Options
	Sessions  Sessions
	Limits    Limits
	Memory    memory.Options
	Redis     redisstore.Options
	DB        sqlstore.Options
	UserCache usercache.Options
	Avatars   Avatars
	Images    imaging.Options
	Disk      localfs.Options
	S3        s3blob.Options
	Log       Log
	Runtime   Runtime
	Debug     Debug
	Metrics   Metrics
	Internal  httpapi.InternalOptions
	APIKeys   apikeys.Options
	OpenAPI   httpapi.OpenAPIOptions
	// MediaCheck: avatars checked by WeChat (mediacheck.go).
	MediaCheck MediaCheck
	// Messages: subscribe messages' long-term templates (messages.go).
	Messages Messages

	// command is set for an operator's command (flags.go): the rules that
	// only a serving process needs (WeChat credentials, public addresses)
	// are not checked.
	command bool
}

// Sessions chooses the session store and how sessions expire.
type Sessions struct {
	Store   string `setting:"session-store" default:"memory" usage:"session store: memory (one server) or redis (any number)"`
	Sliding bool   `setting:"session-sliding" default:"false" usage:"every request with a token extends it to a full WXB_SESSION_TTL"`
	// MaxPerUser caps a user's live tokens; a newer one revokes the oldest.
	MaxPerUser int `setting:"session-max-per-user" default:"10" usage:"most live tokens (devices) per user; a newer login revokes the oldest (0: no cap)"`
}

// Avatars chooses where uploaded avatars are kept, and how often stored
// avatars no user has are collected (app.CollectAvatars).
type Avatars struct {
	Store string `setting:"avatar-store" default:"local" usage:"where avatars are kept: local (a directory, served by this server under /media/avatars/) or s3 (object storage, served from there)"`
	// CollectInterval is how often the server collects; 0: never (run
	// wxbackend avatars collect instead).
	CollectInterval time.Duration `setting:"avatar-collect-interval" default:"1h" usage:"how often the server deletes stored avatars no user has (those a crash or a failed delete left); 0: never (run wxbackend avatars collect instead)"`
	// CollectGrace is the age below which a stored avatar is kept even if
	// no user has it: an upload's image, before its user points at it.
	CollectGrace time.Duration `setting:"avatar-collect-grace" default:"1h" usage:"a stored avatar no user has is deleted once older than this (at least 1m: an upload's image is unused until its user is written)"`
}

// Limits are the rate limits. They are kept where the sessions are (in this
// process, or in Redis shared by every server): Redis sessions are for
// running several servers, and limits kept per process would then be
// multiplied by the number of servers.
type Limits struct {
	LoginPerMinute   int `setting:"rate-login-per-minute" default:"60" usage:"logins per minute per client address, in bursts of as many (0: no limit); counted where sessions are kept"`
	SessionPerMinute int `setting:"rate-session-per-minute" default:"120" usage:"requests per minute per session on the data routes (0: no limit); counted where sessions are kept"`
	// WeChatLoginsPerSecond bounds the jscode2session calls of each app,
	// whichever addresses the logins come from.
	WeChatLoginsPerSecond int `setting:"rate-wechat-logins-per-second" default:"50" usage:"jscode2session calls per second per app, in bursts of as many; logins over it are code 7 before WeChat is asked (0: no limit); counted where sessions are kept"`
}

// Log configures logging.
type Log struct {
	Level  string `setting:"log-level" default:"info" usage:"debug, info, warn or error"`
	Format string `setting:"log-format" default:"text" usage:"text or json"`
	// Debug prints failures whole: a failed start's trace (fx's events and
	// errors), a command's whole error, not only the one line that names
	// what failed.
	Debug bool `setting:"debug" default:"false" usage:"print failures whole: a failed start's trace (what was started, each failed hook, the rollback) and a command's whole error, not only the one line naming the setting or server"`
}

// Runtime tunes the Go runtime of the serving process.
type Runtime struct {
	// MemoryLimit is the Go runtime's soft memory limit
	// (debug.SetMemoryLimit): near it the collector runs more often, so the
	// heap's garbage (up to as much again as its live data by default)
	// does not push the process past it. An explicit GOMEMLIMIT wins.
	MemoryLimit int64 `setting:"memory-limit" default:"209715200" usage:"soft limit in bytes of the server's Go memory (heap and runtime; debug.SetMemoryLimit): near it the garbage collector runs more often; it sits above WXB_AVATAR_DECODE_BUDGET plus the upload buffers (0: none; a GOMEMLIMIT in the environment wins)"`
}

// Debug configures the profiling listener.
type Debug struct {
	Addr string `setting:"http-debug-addr" usage:"address of a net/http/pprof listener (empty: none; loopback only)"`
}

// AvatarDisk is the local avatar store's options; an empty public URL is
// this server's own address (Check allows that on loopback only).
func (c Config) AvatarDisk() localfs.Options {
	d := c.Disk
	if d.PublicURL == "" {
		d.PublicURL = "http://" + c.Server.Addr + "/media/avatars"
	}
	return d
}

// Metrics configures the Prometheus listener.
type Metrics struct {
	Addr string `setting:"metrics-addr" usage:"address of the Prometheus /metrics listener (empty: none); a port alone, \":9464\", listens on loopback only"`
}

// ListenAddr is where the metrics listener listens: Addr, on loopback
// when it names no host.
func (m Metrics) ListenAddr() string {
	if host, port, err := net.SplitHostPort(m.Addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return m.Addr
}

// Default returns the built-in defaults: a server on loopback, SQLite and
// in-memory sessions, no app credentials.
func Default() Config {
	var c Config
	setting.Defaults(&c)
	return c
}

// Load returns the configuration from defaults, then env (a lookup such as
// os.LookupEnv; a secret's …_FILE names a file to read it from), then args
// (flags, as the server takes them: Bind with Serving). It fails naming
// every setting that is wrong; usage receives the flags' help for -h.
func Load(args []string, env func(string) (string, bool), usage io.Writer) (Config, error) {
	fs := pflag.NewFlagSet("wxbackend", pflag.ContinueOnError)
	fs.SetOutput(usage)
	f := Bind(fs, Serving, env)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return f.Config()
}

// Check implements setting.Checker: the rules that span several settings,
// and those of the app, which imports no configuration code.
func (c *Config) Check(p *setting.Problems) {
	p.Positive(&c.App.SessionTTL)
	p.NotNegative(&c.App.WatermarkMaxAge)
	p.NotNegative(&c.App.LoginReplayWindow)
	p.NotNegative(&c.Limits.LoginPerMinute)
	p.NotNegative(&c.Limits.SessionPerMinute)
	p.NotNegative(&c.Limits.WeChatLoginsPerSecond)
	p.OneOf(&c.Sessions.Store, "memory", "redis")
	p.NotNegative(&c.App.ForceRefreshPerDay)
	p.NotNegative(&c.App.SessionMaxAge)
	p.NotNegative(&c.Sessions.MaxPerUser)
	p.NotNegative(&c.App.MaxConcurrentExchanges)
	p.OneOf(&c.App.ContentCheckOnError, "reject", "accept")
	if c.Sessions.Store == "redis" && len(c.Redis.Addrs) == 0 {
		p.Add(&c.Redis.Addrs, "is required with the redis session store")
	}
	p.OneOf(&c.Avatars.Store, "local", "s3")
	p.NotNegative(&c.Avatars.CollectInterval)
	if c.Avatars.CollectGrace < app.MinAvatarGrace {
		p.Add(&c.Avatars.CollectGrace, "must be at least %v: a younger image may be an upload's in progress", app.MinAvatarGrace)
	}
	if c.Avatars.Store == "s3" {
		if c.S3.Endpoint == "" {
			p.Add(&c.S3.Endpoint, "is required with the s3 avatar store")
		}
		if c.S3.Bucket == "" {
			p.Add(&c.S3.Bucket, "is required with the s3 avatar store")
		}
	}
	p.OneOf(&c.Log.Level, "debug", "info", "warn", "error")
	p.OneOf(&c.Log.Format, "text", "json")
	if c.Runtime.MemoryLimit != 0 && c.Runtime.MemoryLimit < 32<<20 {
		p.Add(&c.Runtime.MemoryLimit, "must be 0 (no limit) or at least 32 MiB")
	}
	if !c.command && c.Avatars.Store == "local" && c.Disk.PublicURL == "" && !IsLoopback(c.Server.Addr) {
		p.Add(&c.Disk.PublicURL, "is required when serving %s: this server's public address + /media/avatars, as clients reach it", c.Server.Addr)
	}
	if _, _, err := net.SplitHostPort(c.Metrics.Addr); c.Metrics.Addr != "" && err != nil {
		p.Add(&c.Metrics.Addr, "%q is not host:port or :port", c.Metrics.Addr)
	}
	if c.Debug.Addr != "" && !IsLoopback(c.Debug.Addr) {
		p.Add(&c.Debug.Addr, "%q is not a loopback address: profiles show memory, secrets included", c.Debug.Addr)
	}
	if c.APIKeys.File != "" && c.Internal.Addr == c.Server.Addr {
		p.Add(&c.Internal.Addr, "is WXB_HTTP_ADDR too: the internal listener needs an address of its own")
	}
	c.Apps.check(p)
	c.Push.check(c, p)
	c.MediaCheck.check(c, p)
	c.Messages.check(c, p)
	pushPolicy := c.App.Push
	if err := pushPolicy.Policy().Valid(); err != nil {
		p.Add(&c.App.Push.Batch, "%v", err)
	}
	p.Positive(&c.App.Push.TimestampWindow)
	p.Positive(&c.App.Push.StoreTimeout)
	if c.Apps.File != "" && (c.WeChat.AppID != "" || c.WeChat.Secret != "") {
		p.Add(&c.Apps.File, "several apps come from the file: leave WXB_WECHAT_APP_ID and WXB_WECHAT_APP_SECRET unset")
	}
	if c.Apps.File == "" && !c.command { // a command needs no secret, and --app names the app
		if c.WeChat.AppID == "" {
			p.Add(&c.WeChat.AppID, "is required (or list the apps in WXB_APPS_FILE; make run brings the WeChat sandbox along when neither is set)")
		}
		if c.WeChat.Secret == "" {
			p.Add(&c.WeChat.Secret, "is required (or list the apps in WXB_APPS_FILE; make run brings the WeChat sandbox along when neither is set)")
		}
	}
	// WeChat on a loopback address is a stand-in, such as the sandbox make
	// run brings along, which logs anyone in as anyone: a server trusting it
	// must not be reachable from a network either.
	if !c.command && isLoopbackURL(c.WeChat.BaseURL) && !IsLoopback(c.Server.Addr) {
		p.Add(&c.Server.Addr, "%q is not a loopback address, while WeChat is at %s, a loopback stand-in (such as the sandbox)", c.Server.Addr, c.WeChat.BaseURL)
	}
}

// IsLoopback tells whether addr (host:port) names a loopback host.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// isLoopbackURL tells whether rawURL's host is a loopback one.
func isLoopbackURL(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && IsLoopback(net.JoinHostPort(u.Hostname(), "0"))
}

// String lists every setting by its environment variable, secrets redacted
// (a DSN keeps its shape with the password hidden), one per line, sorted.
func (c Config) String() string {
	var lines []string
	for _, f := range setting.Fields(&c) {
		lines = append(lines, f.Env()+"="+f.Value())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// READMEBegin and READMEEnd enclose the generated settings table in the README.
const (
	READMEBegin = "<!-- settings:begin (generated by `go run ./cmd/wxbackend settings`) -->\n"
	READMEEnd   = "<!-- settings:end -->"
)

// WriteREADME replaces the settings table of the README at path with
// Markdown's.
func WriteREADME(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, READMEBegin), strings.Index(s, READMEEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no settings block", path)
	}
	return os.WriteFile(path, []byte(s[:i+len(READMEBegin)]+Markdown()+s[j:]), 0o644)
}

// Markdown returns the table of every setting for the README.
func Markdown() string {
	c := Default()
	return setting.Markdown(&c)
}
