package config_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxbackend/cmd/wxbackend/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var creds = map[string]string{"WXB_WECHAT_APP_ID": "wx1", "WXB_WECHAT_APP_SECRET": "topsecret"}

func TestLoad_FlagsOverrideEnvOverrideDefaults(t *testing.T) {
	e := map[string]string{"WXB_SESSION_TTL": "90", "WXB_HTTP_ADDR": "0.0.0.0:9000", "WXB_DB_MIGRATE": "false"}
	for k, v := range creds {
		e[k] = v
	}
	c, err := config.Load([]string{"--http-addr", "127.0.0.1:7000", "--watermark-max-age=5m"}, env(e), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "127.0.0.1:7000" || c.App.SessionTTL != 90*time.Second || c.DB.Migrate ||
		c.App.WatermarkMaxAge != 5*time.Minute || c.DB.Driver != "sqlite" || c.WeChat.Secret.Reveal() != "topsecret" {
		t.Fatalf("loaded %+v", c)
	}
}

func TestLoad_NamesEveryWrongSetting(t *testing.T) {
	_, err := config.Load([]string{"--db-driver=oracle", "--session-ttl=-1s"}, env(map[string]string{"WXB_HTTP_MAX_BODY": "lots"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "WXB_HTTP_MAX_BODY") {
		t.Fatalf("a bad env value: %v", err)
	}
	_, err = config.Load([]string{"--db-driver=oracle", "--session-ttl=-1s"}, env(nil), io.Discard)
	for _, name := range []string{"WXB_DB_DRIVER", "WXB_SESSION_TTL", "WXB_WECHAT_APP_ID", "WXB_WECHAT_APP_SECRET"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
}

func TestString_RedactsSecrets(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://app:pg-pass-1@db:5432/wx?sslmode=disable": "postgres://app:xxxxx@db:5432/wx?sslmode=disable",
		"app:my-pass-2@tcp(db:3306)/wx?parseTime=true":        "app:xxxxx@tcp(db:3306)/wx?parseTime=true",
		"file:wxbackend.db":                             "file:wxbackend.db",
		"host=db user=app password=kv-pass-3 dbname=wx": "host=db user=app password=xxxxx dbname=wx",
	} {
		e := map[string]string{"WXB_DB_DSN": dsn}
		for k, v := range creds {
			e[k] = v
		}
		c, err := config.Load(nil, env(e), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s := c.String()
		if strings.Contains(s, "topsecret") || strings.Contains(s, "pass-") {
			t.Fatalf("a secret is printed:\n%s", s)
		}
		if !strings.Contains(s, "WXB_DB_DSN="+want+"\n") {
			t.Errorf("DSN printed as %q, want %q", s, want)
		}
		if !strings.Contains(s, "WXB_WECHAT_APP_SECRET=[redacted]") {
			t.Error("the app secret is not shown as redacted")
		}
	}
}

// The server runs no sandbox of its own: it needs an app's credentials, or
// an apps file, whatever else is set.
func TestLoad_CredentialsAreRequired(t *testing.T) {
	_, err := config.Load(nil, env(nil), io.Discard)
	for _, want := range []string{"WXB_WECHAT_APP_ID", "WXB_WECHAT_APP_SECRET", "WXB_APPS_FILE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no credentials: %v, want it to name %s", err, want)
		}
	}
	if _, err := config.Load([]string{"--sandbox"}, env(creds), io.Discard); err == nil {
		t.Error("--sandbox is still a setting of the server")
	}
}

// WeChat at a loopback address is a stand-in (such as the sandbox make run
// brings along, which logs anyone in as anyone): the server may then listen
// on loopback only.
func TestLoad_LoopbackWeChatNeedsALoopbackServer(t *testing.T) {
	public := []string{"--http-addr=0.0.0.0:8080", "--avatar-public-url=https://api.example.com/media/avatars"}
	for _, base := range []string{"http://127.0.0.1:8090", "http://localhost:8090", "http://[::1]:8090"} {
		if _, err := config.Load([]string{"--wechat-base-url=" + base}, env(creds), io.Discard); err != nil {
			t.Errorf("%s on loopback: %v", base, err)
		}
		for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.168.1.2:8080"} {
			args := []string{"--wechat-base-url=" + base, "--http-addr=" + addr, public[1]}
			if _, err := config.Load(args, env(creds), io.Discard); err == nil || !strings.Contains(err.Error(), "WXB_HTTP_ADDR") {
				t.Errorf("%s serving %s: %v, want an error naming WXB_HTTP_ADDR", base, addr, err)
			}
		}
	}
	// With WeChat's own API, a public address is fine, and so is the
	// address avatars are served at required.
	if _, err := config.Load(public, env(creds), io.Discard); err != nil {
		t.Errorf("public address: %v", err)
	}
	if _, err := config.Load(public[:1], env(creds), io.Discard); err == nil || !strings.Contains(err.Error(), "WXB_AVATAR_PUBLIC_URL") {
		t.Errorf("public address, avatars on disk, no public URL: %v", err)
	}
}

// On loopback, avatars are served at the server's own address, whichever
// port it is given.
func TestAvatarDisk_DefaultsToTheServersAddress(t *testing.T) {
	c, err := config.Load([]string{"--http-addr=127.0.0.1:28080"}, env(creds), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AvatarDisk().PublicURL; got != "http://127.0.0.1:28080/media/avatars" {
		t.Fatalf("public URL %q", got)
	}
	c.Disk.PublicURL = "https://cdn.example.com/a"
	if got := c.AvatarDisk().PublicURL; got != "https://cdn.example.com/a" {
		t.Fatalf("a set public URL became %q", got)
	}
}

// Each check names the setting it is about, not a neighbour.
func TestLoad_EachProblemNamesItsOwnSetting(t *testing.T) {
	for flag, name := range map[string]string{
		"--rate-login-per-minute=-1":                 "WXB_RATE_LOGIN_PER_MINUTE",
		"--rate-session-per-minute=-1":               "WXB_RATE_SESSION_PER_MINUTE",
		"--redis-pool-size=-1":                       "WXB_REDIS_POOL_SIZE",
		"--redis-db=-1":                              "WXB_REDIS_DB",
		"--db-max-idle-conns=-1":                     "WXB_DB_MAX_IDLE_CONNS",
		"--db-max-open-conns=-1":                     "WXB_DB_MAX_OPEN_CONNS",
		"--http-ready-timeout=0":                     "WXB_HTTP_READY_TIMEOUT",
		"--http-trusted-proxies=x/99":                "WXB_HTTP_TRUSTED_PROXIES",
		"--wechat-base-url=http://api.weixin.qq.com": "WXB_WECHAT_BASE_URL",
		"--avatar-collect-interval=-1s":              "WXB_AVATAR_COLLECT_INTERVAL",
		"--avatar-collect-grace=30s":                 "WXB_AVATAR_COLLECT_GRACE",
	} {
		_, err := config.Load([]string{flag}, env(creds), io.Discard)
		if err == nil {
			t.Errorf("%s: accepted", flag)
			continue
		}
		if got := strings.Count(err.Error(), "WXB_"); got != 1 || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want one problem naming %s", flag, err, name)
		}
	}
}

// Secrets can come from files, as container secrets are mounted, and -help
// warns that flags are visible to other users.
func TestLoad_SecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(nil, env(map[string]string{"WXB_WECHAT_APP_ID": "wx1", "WXB_WECHAT_APP_SECRET_FILE": path,
		"WXB_DB_DSN_FILE": path}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.WeChat.Secret.Reveal() != "from-a-file" || c.DB.DSN.Reveal() != "from-a-file" {
		t.Fatalf("secret %q, dsn %q", c.WeChat.Secret.Reveal(), c.DB.DSN.Reveal())
	}
	_, err = config.Load(nil, env(map[string]string{"WXB_WECHAT_APP_ID": "wx1", "WXB_WECHAT_APP_SECRET_FILE": filepath.Join(dir, "missing")}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "WXB_WECHAT_APP_SECRET_FILE") {
		t.Fatalf("a missing secret file: %v", err)
	}
	_, err = config.Load(nil, env(map[string]string{"WXB_WECHAT_APP_ID": "wx1", "WXB_WECHAT_APP_SECRET": "x", "WXB_WECHAT_APP_SECRET_FILE": path}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("a secret set twice: %v", err)
	}
	var help strings.Builder
	_, _ = config.Load([]string{"-help"}, env(nil), &help)
	if !strings.Contains(help.String(), "flags are visible to other users") {
		t.Fatalf("-help does not warn about secrets in flags:\n%s", help.String())
	}
}

// The README's settings table is the code's: a setting added, removed or
// changed in code and not in the README fails here.
func TestREADME_ListsEverySettingAsTheCodeDoes(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	begin, end := config.READMEBegin, config.READMEEnd
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no settings block between %q and %q", begin, end)
	}
	if got, want := s[i+len(begin):j], config.Markdown(); got != want {
		t.Fatalf("README.md's settings table is stale: run make readme (go run ./cmd/wxbackend settings -readme README.md):\n%s", want)
	}
}

// Several apps come from a TOML file, checked at start: every problem names
// the file and the key.
func TestLoad_AppsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := write("secret", "from-file\n")
	good := write("good.toml", `
[[app]]
appid = "wxaaaa"
secret = "a-secret"
name = "shop"
[[app]]
appid = "wxbbbb"
secret_file = "`+secret+`"
openapi_paths = ["wxa/getwxacodeunlimit"]
`)
	c, err := config.Load([]string{"--apps-file", good}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.OpenAPIPaths(); len(p) != 1 || len(p["wxbbbb"]) != 1 || p["wxbbbb"][0] != "wxa/getwxacodeunlimit" {
		t.Fatalf("openapi paths %v", p)
	}
	apps := c.WeChatApps()
	if len(apps) != 2 || apps[0].AppID != "wxaaaa" || apps[1].Secret.Reveal() != "from-file" || apps[1].BaseURL != c.WeChat.BaseURL {
		t.Fatalf("apps %+v", apps)
	}
	if strings.Contains(c.String(), "a-secret") || strings.Contains(c.String(), "from-file") {
		t.Fatal("an app secret is printed")
	}
	for name, c := range map[string]struct{ body, want string }{
		"syntax":          {"[[app]]\nappid = \n", "line 2"},
		"unknown key":     {"[[app]]\nappid = \"wx1\"\nsecret = \"s\"\nsecrte = \"typo\"\n", `unknown key "app.secrte"`},
		"no apps":         {"# nothing\n", "no [[app]]"},
		"bad appid":       {"[[app]]\nappid = \"wx 1\"\nsecret = \"s\"\n", "app[1].appid"},
		"duplicate appid": {"[[app]]\nappid = \"wx1\"\nsecret = \"s\"\n[[app]]\nappid = \"wx1\"\nsecret = \"t\"\n", "app[2].appid: wx1 is app[1]'s too"},
		"no secret":       {"[[app]]\nappid = \"wx1\"\n", "app[1]: secret or secret_file is required"},
		"both secrets":    {"[[app]]\nappid = \"wx1\"\nsecret = \"s\"\nsecret_file = \"" + secret + "\"\n", "set one, not both"},
		"missing file":    {"[[app]]\nappid = \"wx1\"\nsecret_file = \"/nonexistent/secret\"\n", "app[1].secret_file"},
		"credential API":  {"[[app]]\nappid = \"wx1\"\nsecret = \"s\"\nopenapi_paths = [\"cgi-bin/token\"]\n", "app[1].openapi_paths: \"cgi-bin/token\" answers a credential"},
		"malformed path":  {"[[app]]\nappid = \"wx1\"\nsecret = \"s\"\nopenapi_paths = [\"wxa/../x\"]\n", "app[1].openapi_paths"},
	} {
		path := write(strings.ReplaceAll(name, " ", "-")+".toml", c.body)
		_, err := config.Load([]string{"--apps-file", path}, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "WXB_APPS_FILE") {
			t.Errorf("%s: %v, want %q naming %s", name, err, c.want, path)
		}
	}
	if _, err := config.Load([]string{"--apps-file", good}, env(creds), io.Discard); err == nil || !strings.Contains(err.Error(), "leave WXB_WECHAT_APP_ID") {
		t.Errorf("an apps file and WXB_WECHAT_*: %v", err)
	}
}
