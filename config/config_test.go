package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"wxbackend/config"
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
	if c.HTTP.Addr != "127.0.0.1:7000" || c.Session.TTL != 90*time.Second || c.DB.Migrate ||
		c.Auth.WatermarkMaxAge != 5*time.Minute || c.DB.Driver != "sqlite" || c.WeChat.AppSecret.Reveal() != "topsecret" {
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
		"host=db user=app password=kv-pass-3 dbname=wx": "[redacted]",
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

func TestLoad_SandboxIsLoopbackOnlyAndNeedsNoCredentials(t *testing.T) {
	c, err := config.Load([]string{"--sandbox"}, env(nil), io.Discard)
	if err != nil || !c.Sandbox.Enabled || c.Sandbox.Addr != "127.0.0.1:8090" {
		t.Fatalf("sandbox on defaults: %+v %v", c.Sandbox, err)
	}
	for _, args := range [][]string{
		{"--sandbox", "--http-addr=0.0.0.0:8080"},
		{"--sandbox", "--http-addr=:8080"},
		{"--sandbox", "--http-addr=192.168.1.2:8080"},
		{"--sandbox", "--sandbox-addr=0.0.0.0:8090"},
		{"--sandbox", "--wechat-base-url=https://example.com"},
	} {
		_, err := config.Load(args, env(nil), io.Discard)
		name := strings.TrimPrefix(strings.SplitN(args[1], "=", 2)[0], "--")
		if err == nil || !strings.Contains(err.Error(), config.EnvName(name)) {
			t.Errorf("%v: %v, want an error naming %s", args, err, config.EnvName(name))
		}
	}
	// Without the sandbox, a public address is fine and credentials are required.
	if _, err := config.Load([]string{"--http-addr=0.0.0.0:8080"}, env(creds), io.Discard); err != nil {
		t.Errorf("public address without sandbox: %v", err)
	}
}
